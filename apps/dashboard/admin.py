from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from apps.dashboard.models import DropAlert, ExportRecord, ExportState


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system: readable, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DropAlert)
class DropAlertAdmin(ReadOnlyAdmin):
    list_display = [
        "window_start",
        "granularity",
        "provider",
        "country",
        "rate",
        "baseline_rate",
        "drop_percent",
        "requested",
        "notified_at",
        "notify_error",
    ]
    list_filter = ["provider", "country", "granularity"]
    date_hierarchy = "window_start"


@admin.register(ExportRecord)
class ExportRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "user",
        "kind",
        "filename",
        "state",
        "rows",
        "total",
        "finished_at",
        "reason",
        "download",
    ]
    list_filter = ["kind", "state"]
    list_select_related = ["user"]

    def get_queryset(self, request):
        # Everyone sees their own exports; superusers see the whole audit trail.
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    @admin.display(description="why it failed")
    def reason(self, record: ExportRecord) -> str:
        return record.error if record.state == ExportState.FAILED else ""

    @admin.display(description="file")
    def download(self, record: ExportRecord) -> str:
        if record.state == ExportState.STREAMED:
            return "streamed" if record.finished_at else "streamed, not finished"
        labels = {ExportState.DONE: "download", ExportState.FAILED: "failed: details"}
        url = reverse("dashboard:export-status", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, labels.get(record.state, "progress"))
