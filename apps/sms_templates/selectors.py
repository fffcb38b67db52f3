"""Reads for the template pages: what a user may do next, the timeline, the submission outlook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.sms_templates import limits, roles, services
from apps.sms_templates.models import SmsTemplate, TemplateStatus, TemplateTransition


@dataclass(frozen=True)
class WorkflowAction:
    name: str  # the URL segment of the workflow view
    label: str
    primary: bool = False


ACTION_LABELS = {
    "submit_for_review": "Submit for internal review",
    "approve": "Approve internally",
    "send_back": "Send back with comment",
    "submit_to_provider": "Submit to provider",
    "retry_submission": "Submit to provider again",
    "withdraw": "Withdraw",
    "refresh_review": "Refresh review status",
}
PRIMARY = {"submit_for_review", "approve", "submit_to_provider", "retry_submission"}


def template_actions(*, template: SmsTemplate, user: Any) -> list[WorkflowAction]:
    """The workflow steps to offer this user now. Only a hint: the services decide."""
    author, reviewer = roles.is_author(user), roles.is_reviewer(user)
    status = template.status
    stuck = reviewer and services.submission_stuck(template=template)
    names = []
    if author and status in services.SUBMIT_FOR_REVIEW_FROM:
        names.append("submit_for_review")
    if reviewer and status in services.APPROVE_FROM and not services.has_written(template, user):
        names.append("approve")
    if reviewer and status in services.SUBMIT_TO_PROVIDER_FROM:
        names.append("submit_to_provider")
    if stuck and not _submission_started(template):
        names.append("retry_submission")
    if reviewer and status in services.SEND_BACK_FROM and (status != TemplateStatus.SUBMITTED or stuck):
        names.append("send_back")
    if status in services.UNDER_PROVIDER and template.provider_template_code:
        names.append("refresh_review")
    if (author or reviewer) and status in services.WITHDRAW_FROM:
        names.append("withdraw")
    return [WorkflowAction(name, ACTION_LABELS[name], name in PRIMARY) for name in names]


def _submission_started(template: SmsTemplate) -> bool:
    attempt = services.open_attempt(template)
    return attempt is not None and attempt.started_at is not None


def template_timeline(*, template: SmsTemplate) -> list[TemplateTransition]:
    return list(template.transitions.select_related("actor").order_by("at", "pk"))


def next_submission(*, template: SmsTemplate) -> tuple[datetime | None, str]:
    """When this template's account may submit next, shown before a reviewer clicks."""
    if template.status != TemplateStatus.INTERNALLY_APPROVED:
        return None, ""
    return limits.next_submission_at(template.account)
