"""The workflow buttons of the template page: one POST view per step, each calling one service.

A refusal because of the user's role is a 403 page saying why (a crafted POST gets the same answer
as a clicked button); a refusal because of the template's state or the provider's limits goes back
to the template with the reason as an error message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.providers.clients.base import ProviderError
from apps.sms_templates import services
from apps.sms_templates.forms import WorkflowCommentForm
from apps.sms_templates.models import SmsTemplate, TemplateStatus

SERVICES = {
    "submit_for_review": services.template_submit_for_review,
    "approve": services.template_approve_internally,
    "send_back": services.template_send_back,
    "submit_to_provider": services.template_submit_to_provider,
    "retry_submission": services.template_retry_submission,
    "withdraw": services.template_withdraw,
}
DONE = {
    "submit_for_review": "“{name}” is now awaiting internal review.",
    "approve": "“{name}” is internally approved; a reviewer can submit it to the provider.",
    "send_back": "“{name}” was sent back to its author with your comment.",
    "submit_to_provider": "“{name}” is being submitted to the provider; the outcome will show here.",
    "retry_submission": "“{name}” is being submitted to the provider again; the outcome will show here.",
    "withdraw": "“{name}” was withdrawn; it stays here for the record.",
}
ONLY_VIEWERS = "Only users who may view templates can refresh their review status."
REFRESHED = "The provider's review of “{name}”: {provider_status}; the template is {status}."
UNCHANGED = "The provider's review of “{name}” has not changed: {provider_status}."
REFRESH_FAILED = "Could not ask the provider: {error}"
PROVIDER_APPROVED = "The provider approved “{name}”: it is ready to use."
PROVIDER_REJECTED = "The provider rejected “{name}”: {reason} Edit it and submit it for review again."
SUBMISSION_FAILED = "The submission of “{name}” failed: {error}"
UNDER_REVIEW = "“{name}” is under the provider's review (template code {code}); smsdash asks it again shortly."
# After these steps the template may already carry the provider's answer (inline jobs, a refresh).
PROVIDER_STEPS = {"submit_to_provider", "retry_submission", "refresh_review"}


def workflow_view(model_admin, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    template = model_admin.get_object(request, object_id)
    if template is None or (action not in SERVICES and action != "refresh_review"):
        raise Http404("No such template or workflow step.")
    change_url = reverse("admin:sms_templates_smstemplate_change", args=[template.pk])
    form = WorkflowCommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Comment: {form.errors['comment'][0]}")
        return redirect(change_url)
    try:
        level, outcome = _run(model_admin, request, template, action, form.cleaned_data["comment"])
    except services.TemplateRoleError as exc:
        return refused(model_admin, request, template, exc.message)
    except services.TemplateWorkflowError as exc:
        messages.error(request, exc.message)
    except ProviderError as exc:
        messages.error(request, REFRESH_FAILED.format(error=services.error_in_words(exc)))
    else:
        messages.add_message(request, level, outcome)
    return redirect(change_url)


def _run(model_admin, request: HttpRequest, template: SmsTemplate, action: str, comment: str) -> tuple[int, str]:
    if action == "refresh_review":
        if not model_admin.has_view_permission(request, template):
            raise services.TemplateRoleError(ONLY_VIEWERS)
        changed = services.template_refresh_review(template=template)
        message = REFRESHED if changed else UNCHANGED
        done = message.format(
            name=template.name,
            provider_status=template.get_provider_status_display().lower(),
            status=TemplateStatus(template.status).label.lower(),
        )
    else:
        SERVICES[action](template=template, actor=request.user, comment=comment)
        done = DONE[action].format(name=template.name)
    if action not in PROVIDER_STEPS:
        return messages.SUCCESS, done
    template.refresh_from_db()
    if action == "refresh_review" and template.status == TemplateStatus.PROVIDER_REVIEW:
        return messages.INFO, done
    return provider_outcome(template, otherwise=done)


def provider_outcome(template: SmsTemplate, *, otherwise: str) -> tuple[int, str]:
    """The banner for where the provider left the template: a rejection or a failed submission is
    not a success, whatever step showed it."""
    S = TemplateStatus
    if template.status == S.REJECTED:
        reason = template.provider_reason or "no reason given."
        return messages.WARNING, PROVIDER_REJECTED.format(name=template.name, reason=reason)
    if template.status == S.APPROVED:
        return messages.SUCCESS, PROVIDER_APPROVED.format(name=template.name)
    if template.status == S.INTERNALLY_APPROVED and template.last_error:
        return messages.ERROR, SUBMISSION_FAILED.format(name=template.name, error=template.last_error)
    if template.status == S.PROVIDER_REVIEW:
        return messages.INFO, UNDER_REVIEW.format(name=template.name, code=template.provider_template_code)
    return messages.SUCCESS, otherwise


def refused(model_admin, request: HttpRequest, template: SmsTemplate, message: str) -> HttpResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Not allowed",
        "message": message,
        "template_obj": template if model_admin.has_view_permission(request, template) else None,
        "opts": model_admin.opts,
    }
    return TemplateResponse(request, "admin/sms_templates/refused.html", context, status=403)
