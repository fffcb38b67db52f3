"""The Sync runs page: every run with a live progress bar (static/providers/sync_progress.js polls
progress_view while a run is running), the failure reason in words, and the receipt counts an
operator watches (unmatched receipts, messages still without a receipt after OVERDUE_HOURS)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.html import format_html

from apps.providers.models import SyncRun, SyncStatus


def progress_html(run: SyncRun) -> str:
    counts = f"{run.progress_done}/{run.progress_total}" if run.progress_total else "—"
    return format_html(
        '<div class="sync-progress" data-run="{}" data-status="{}">'
        '<progress max="100" value="{}"></progress> <span class="sync-progress-text">{}% ({})</span></div>',
        run.pk,
        run.status,
        run.percent,
        run.percent,
        counts,
    )


def outcome_html(run: SyncRun) -> str:
    return format_html(
        '<strong class="sync-status">{}</strong><div class="sync-reason help">{}</div>',
        run.get_status_display(),
        run.failure_reason,
    )


def run_state(run: SyncRun) -> dict:
    return {
        "status": run.status,
        "status_label": run.get_status_display(),
        "percent": run.percent,
        "done": run.progress_done,
        "total": run.progress_total,
        "pages": run.pages_fetched,
        "updated": run.items_updated,
        "errors": run.errors,
        "reason": run.failure_reason,
        "finished": run.finished_at.isoformat() if run.finished_at else None,
    }


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    change_list_template = "admin/providers/syncrun/change_list.html"
    list_display = [
        "id",
        "kind",
        "account",
        "outcome",
        "progress",
        "started_at",
        "duration",
        "pages_fetched",
        "items_updated",
        "errors",
    ]
    list_filter = ["kind", "status", "account__provider", "account", "trigger"]
    list_select_related = ["account"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in SyncRun._meta.fields] + ["progress"]

    class Media:
        js = ["providers/sync_progress.js"]

    @admin.display(description="Status", ordering="status")
    def outcome(self, run: SyncRun) -> str:
        return outcome_html(run)

    @admin.display(description="Took")
    def duration(self, run: SyncRun) -> str:
        if run.finished_at is None:
            return "—"
        seconds = max(0, round((run.finished_at - run.started_at).total_seconds()))
        return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"

    @admin.display(description="Progress")
    def progress(self, run: SyncRun) -> str:
        return progress_html(run)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.progress_view)
        return [path("progress/", view, name="providers_syncrun_progress"), *super().get_urls()]

    def progress_view(self, request: HttpRequest) -> JsonResponse:
        """Current state of the runs named in ?ids=1,2,3 (at most 200)."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "You may not view sync runs."}, status=403)
        raw = [part for part in request.GET.get("ids", "").split(",") if part.strip().isdigit()][:200]
        runs = SyncRun.objects.filter(pk__in=[int(part) for part in raw])
        return JsonResponse({"runs": {str(run.pk): run_state(run) for run in runs}})

    def changelist_view(self, request: HttpRequest, extra_context=None):
        from apps.messaging.delivery.selectors import OVERDUE_HOURS, overdue_message_count, unmatched_receipt_count

        extra_context = dict(extra_context or {})
        extra_context.update(
            unmatched_receipts=unmatched_receipt_count(),
            overdue_messages=overdue_message_count(),
            overdue_hours=OVERDUE_HOURS,
            running_runs=SyncRun.objects.filter(status=SyncStatus.RUNNING).count(),
        )
        return super().changelist_view(request, extra_context=extra_context)
