"""The template admin: form with live rule checks, workflow buttons, timeline, bulk review actions.

Every write goes through apps.sms_templates.services; this module only translates requests.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path

from apps.dashboard.export import CsvExportMixin
from apps.providers.sync.actions import sync_templates_now  # issue 5: "Sync review status now"
from apps.sms_templates import roles, rules, selectors, services, views
from apps.sms_templates.forms import SendBackForm, SmsTemplateForm, rules_config, template_accounts
from apps.sms_templates.models import SmsTemplate

PROVIDER_FIELDS = ["provider_template_code", "provider_status", "provider_reason", "last_error"]


@admin.register(SmsTemplate)
class SmsTemplateAdmin(CsvExportMixin, admin.ModelAdmin):
    form = SmsTemplateForm
    change_form_template = "admin/sms_templates/smstemplate/change_form.html"
    list_display = [
        "name",
        "account",
        "type",
        "status",
        "provider_status",
        "provider_template_code",
        "author",
        "reviewer",
        "updated_at",
    ]
    list_filter = ["status", "type", "account", "account__provider", "provider_status"]
    search_fields = ["name", "=provider_template_code", "content"]
    date_hierarchy = "created_at"
    list_select_related = ["account", "author", "reviewer"]
    readonly_fields = [
        "variables_found",
        "preview",
        "status",
        "author",
        "reviewer",
        *PROVIDER_FIELDS,
        "submitted_at",
        "decided_at",
        "created_at",
        "updated_at",
    ]
    # CSV export: the changelist's "Export CSV" button (CsvExportMixin) exports what the list shows.
    actions = ["submit_for_review", "approve", "send_back", "submit_to_provider", "withdraw"]
    actions += [sync_templates_now]

    def get_fieldsets(self, request, obj=None):
        fields = ["account", "type", "international_kind", "name", "content", "variables_found", "preview"]
        fields += ["sign_name", "remark"]
        template = ("Template", {"fields": fields})
        if obj is None:
            return [template]
        return [
            template,
            ("Workflow", {"fields": ["status", "author", "reviewer", "created_at", "updated_at"]}),
            ("Provider", {"fields": [*PROVIDER_FIELDS, "submitted_at", "decided_at"]}),
        ]

    @admin.display(description="variables found")
    def variables_found(self, obj: SmsTemplate) -> str:
        return ", ".join(f"${{{name}}}" for name in obj.variables) or "none"

    @admin.display(description="preview with sample values")
    def preview(self, obj: SmsTemplate) -> str:
        return rules.render_preview(obj.content or "")

    # Roles: the admin hides what a role may not do; the services refuse it regardless.
    def has_author_permission(self, request) -> bool:
        return roles.is_author(request.user)

    def has_review_permission(self, request) -> bool:
        return roles.is_reviewer(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        editable = obj is None or obj.status in services.EDITABLE
        return editable and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS if name in form.cleaned_data}
        if change:
            services.template_update(template=obj, actor=request.user, **data)
        else:
            obj.pk = services.template_create(actor=request.user, **data).pk
            obj.refresh_from_db()

    def get_urls(self):
        workflow = self.admin_site.admin_view(lambda request, *a, **kw: views.workflow_view(self, request, *a, **kw))
        name = f"{self.opts.app_label}_{self.opts.model_name}_workflow"
        return [path("<path:object_id>/workflow/<slug:action>/", workflow, name=name), *super().get_urls()]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        template = self.get_object(request, object_id) if object_id else None
        context = {"template_rules": rules_config(template_accounts(template)), **(extra_context or {})}
        if template is not None and self.has_view_permission(request, template):
            next_at, next_message = selectors.next_submission(template=template)
            context.update(
                workflow_actions=selectors.template_actions(template=template, user=request.user),
                timeline=selectors.template_timeline(template=template),
                next_submission_message=next_message,
                submission_stuck=services.submission_stuck(template=template),
            )
        try:
            return super().changeform_view(request, object_id, form_url, context)
        except services.TemplateWorkflowError as exc:  # e.g. someone moved it on while this form was open
            self.message_user(request, exc.message, messages.ERROR)
            return redirect(request.get_full_path())

    def _bulk(self, request, queryset, service, done: str, **kwargs) -> None:
        count, refusals = 0, {}
        for template in queryset.select_related("account").order_by("pk"):
            try:
                service(template=template, actor=request.user, **kwargs)
                count += 1
            except services.TemplateWorkflowError as exc:
                refusals.setdefault(exc.message, None)
        if count:
            self.message_user(request, done.format(n=count, s=pluralize(count)), messages.SUCCESS)
        for message in refusals:
            self.message_user(request, message, messages.ERROR)

    @admin.action(permissions=["author"], description="Submit for internal review")
    def submit_for_review(self, request, queryset):
        self._bulk(request, queryset, services.template_submit_for_review, "{n} template{s} submitted for review.")

    @admin.action(permissions=["review"], description="Approve internally")
    def approve(self, request, queryset):
        self._bulk(request, queryset, services.template_approve_internally, "{n} template{s} approved internally.")

    @admin.action(permissions=["review"], description="Send back with comment")
    def send_back(self, request, queryset):
        form = SendBackForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            comment = form.cleaned_data["comment"]
            self._bulk(request, queryset, services.template_send_back, "{n} template{s} sent back.", comment=comment)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Send templates back with a comment",
            "form": form,
            "queryset": queryset,
            "opts": self.opts,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/sms_templates/smstemplate/send_back.html", context)

    @admin.action(permissions=["review"], description="Submit to provider")
    def submit_to_provider(self, request, queryset):
        done = "{n} template{s} queued for submission to the provider."
        self._bulk(request, queryset, services.template_submit_to_provider, done)

    @admin.action(permissions=["author", "review"], description="Withdraw")
    def withdraw(self, request, queryset):
        self._bulk(request, queryset, services.template_withdraw, "{n} template{s} withdrawn.")
