from django.contrib import admin

from apps.providers.forms import ProviderAccountForm
from apps.providers.models import ProviderAccount


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    form = ProviderAccountForm
    list_display = ["name", "provider", "key_id", "secret", "region", "is_enterprise", "is_active", "updated_at"]
    list_filter = ["provider", "is_active", "is_enterprise"]
    search_fields = ["name", "key_id", "sdk_app_id"]
    readonly_fields = ["created_at", "updated_at"]
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
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Key secret")
    def secret(self, account: ProviderAccount) -> str:
        return account.masked_secret
