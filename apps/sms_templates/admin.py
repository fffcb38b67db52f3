from django.contrib import admin

from apps.sms_templates.models import SmsTemplate, TemplateTransition


class TemplateTransitionInline(admin.TabularInline):
    model = TemplateTransition
    extra = 0
    can_delete = False
    fields = ["at", "actor", "from_status", "to_status", "comment"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "account",
        "type",
        "status",
        "provider_status",
        "provider_template_code",
        "author",
        "updated_at",
    ]
    list_filter = ["status", "type", "provider_status", "account__provider", "account"]
    search_fields = ["name", "=provider_template_code", "content"]
    date_hierarchy = "created_at"
    list_select_related = ["account", "author"]
    readonly_fields = [
        "provider_template_code",
        "provider_status",
        "provider_reason",
        "last_error",
        "submitted_at",
        "decided_at",
        "created_at",
        "updated_at",
    ]
    inlines = [TemplateTransitionInline]
