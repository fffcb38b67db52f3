"""Admin for the ingest API and conversion reporting: API tokens (shown once), re-send, breaker state.

Imported by apps/messaging/admin.py, which registers the models.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from apps.messaging.models import ApiToken, ReportState
from apps.messaging.services import api_token_create, api_token_revoke, conversion_resend
from apps.messaging.services.reporting import claims_release_expired
from apps.providers.audit import audit
from apps.providers.breaker import breaker_for
from smsdash.queue import enqueue

# Who created or revoked which token; its hash is masked and last_used_at (bookkeeping) left out.
audit(ApiToken, secrets=["token_hash"], ignore=["last_used_at"])


@admin.display(description="provider circuit")
def breaker_state(obj) -> str:
    account_id = obj.account_id if isinstance(obj, ApiToken) else obj.message.account_id
    return breaker_for(account_id).snapshot().describe()


@admin.action(description="Re-send selected failed or skipped conversions to the provider")
def resend_conversions(modeladmin, request, queryset):
    sent, refused = 0, []
    for conversion in queryset.select_related("message"):
        try:
            conversion_resend(conversion=conversion)
            sent += 1
        except ValueError as error:
            refused.append(f"{conversion}: {error}")
    if sent:
        modeladmin.message_user(request, f"{sent} conversion(s) queued for reporting again.", messages.SUCCESS)
    for line in refused[:10]:
        modeladmin.message_user(request, line, messages.WARNING)


RELEASED = (
    "{count} of them were held by a worker that stopped renewing its claim: released, and each "
    "one that worker may have sent is counted as a possible repeat."
)


@admin.action(description="Report selected pending conversions now")
def report_pending_now(modeladmin, request, queryset):
    from apps.messaging import jobs

    by_account: dict[int, list[int]] = {}
    released = claims_release_expired(ids=list(queryset.values_list("pk", flat=True)))  # held by dead workers
    pending = queryset.filter(report_state=ReportState.PENDING, claim_token="")
    for account_id, pk in pending.values_list("message__account_id", "pk"):
        by_account.setdefault(account_id, []).append(pk)
    for account_id, ids in by_account.items():
        enqueue(jobs.report_conversions, account_id, ids, queue=jobs.QUEUE)
    count = sum(len(ids) for ids in by_account.values())
    modeladmin.message_user(request, f"{count} pending conversion(s) queued for reporting.", messages.SUCCESS)
    if released:
        freed = sum(len(ids) for ids in released.values())
        modeladmin.message_user(request, RELEASED.format(count=freed), messages.WARNING)


@admin.action(description="Revoke selected API tokens")
def revoke_tokens(modeladmin, request, queryset):
    revoked = 0
    for token in queryset.filter(revoked_at__isnull=True):
        api_token_revoke(token=token)
        revoked += 1
    modeladmin.message_user(request, f"{revoked} token(s) revoked: requests with them now get 401.", messages.SUCCESS)


class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "hint", "created_at", "last_used_at", "revoked_at", breaker_state]
    list_filter = ["account", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["account"]
    actions = [revoke_tokens]
    fields = ["account", "name", "hint", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["hint", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "account"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        token, raw = api_token_create(account=obj.account, name=obj.name)
        obj.__dict__.update({k: v for k, v in token.__dict__.items() if not k.startswith("_")})
        request._new_api_token = raw  # rendered once by response_add, never stored in clear

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": "API token created",
            "token": obj,
            "raw_token": request._new_api_token,
            "opts": self.opts,
            "api_url": request.build_absolute_uri("/api/v1/"),
        }
        return TemplateResponse(request, "admin/messaging/apitoken/created.html", context)


CONVERSION_READONLY = ["claim_token", "repeat_reports", "duplicate_submissions"]
