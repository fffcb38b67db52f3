from django.contrib import admin

from apps.providers.audit import audit, audit_user_access
from apps.providers.forms import ProviderAccountForm
from apps.providers.models import ProviderAccount
from apps.providers.sync import admin as sync_admin  # noqa: F401  (registers the Sync runs page)
from apps.providers.sync.actions import sync_accounts_now
from smsdash.admin_delete import DeleteSummaryWithoutTimesMixin

# Registered here, as admin modules are imported by every process (AdminConfig.ready): web, workers, commands.
audit(ProviderAccount, secrets=["key_secret"], ignore=["updated_at"])
audit_user_access()


@admin.register(ProviderAccount)
class ProviderAccountAdmin(DeleteSummaryWithoutTimesMixin, admin.ModelAdmin):  # lists its messages when deleted
    form = ProviderAccountForm
    list_display = ["name", "provider", "key_id", "secret", "region", "is_enterprise", "is_active", "updated_at"]
    list_filter = ["provider", "is_active", "is_enterprise"]
    search_fields = ["name", "key_id", "sdk_app_id"]
    readonly_fields = ["created_at", "updated_at", "receipt_url"]
    actions = [sync_accounts_now]
    fieldsets = [
        (None, {"fields": ["name", "provider", "is_active", "is_enterprise"]}),
        ("Credentials", {"fields": ["key_id", "key_secret", "region", "sdk_app_id", "endpoint"]}),
        (
            "Provider options",
            {
                "fields": [
                    "alibaba_signature",
                    "alibaba_conversion_api",
                    "alibaba_template_api",
                    "conversion_allowlisted",
                    "report_rate_limit",
                    "sync_interval_minutes",
                    "retention_days",
                    "receipt_url",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Key secret")
    def secret(self, account: ProviderAccount) -> str:
        return account.masked_secret

    @admin.display(description="Delivery receipt callback path")
    def receipt_url(self, account: ProviderAccount) -> str:
        from apps.messaging.delivery.webhooks import webhook_path

        if account.pk is None:
            return "Shown once the account is saved."
        return f"{webhook_path(account)}  (give the provider your smsdash address followed by this path)"
