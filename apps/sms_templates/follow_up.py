"""Following the provider's review right after a submission, on the back-off REVIEW_FOLLOW_UP.

The template row holds when to ask next (review_check_at) and how many checks were made. With
Redis each check is an rq job scheduled for that time (jobs.py); without Redis, or when a scheduled
job was lost, the periodic submission sweep asks for the checks that are due. Either way a check is
claimed by a conditional update first, so the provider is asked once per step.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from apps.providers.clients.base import ProviderError
from apps.sms_templates import services
from apps.sms_templates.models import SmsTemplate, TemplateStatus

logger = logging.getLogger(__name__)


def review_check_claim(*, template_id: int, now: datetime) -> SmsTemplate | None:
    """Take the due check of this template and set the next one (None after the last step)."""
    due = SmsTemplate.objects.filter(pk=template_id, status=TemplateStatus.PROVIDER_REVIEW, review_check_at__lte=now)
    template = due.exclude(provider_template_code="").select_related("account").first()
    if template is None:
        return None
    step = template.review_checks + 1
    gaps = services.REVIEW_FOLLOW_UP
    next_at = now + gaps[step] if step < len(gaps) else None
    mine = due.filter(review_checks=template.review_checks, review_check_at=template.review_check_at)
    if mine.update(review_checks=step, review_check_at=next_at) != 1:
        return None  # the scheduled job and the sweep met: the other one asks
    template.review_checks, template.review_check_at = step, next_at
    return template


def template_follow_review(*, template_id: int, now: datetime | None = None) -> SmsTemplate | None:
    """Ask the provider for the review of a template whose check is due. Returns the template
    (its review_check_at is the next check, None when done), or None if nothing was due."""
    template = review_check_claim(template_id=template_id, now=now or timezone.now())
    if template is None:
        return None
    try:
        services.template_refresh_review(template=template)
    except ProviderError as exc:  # the next step, or the regular sync, asks again
        logger.warning("review check of template %s failed: %s", template_id, services.error_in_words(exc))
    if template.status != TemplateStatus.PROVIDER_REVIEW:
        template.review_check_at = None
    return template


def review_checks_due(*, now: datetime, late: timedelta = timedelta(0)) -> list[int]:
    """Templates whose follow-up check was due `late` ago or earlier."""
    due = SmsTemplate.objects.filter(status=TemplateStatus.PROVIDER_REVIEW, review_check_at__lte=now - late)
    return list(due.order_by("review_check_at").values_list("pk", flat=True))
