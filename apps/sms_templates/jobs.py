"""Background jobs of the template workflow: thin wrappers that load ids and call services."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.sms_templates import follow_up, services, sweeps
from apps.sms_templates.models import SmsTemplate, TemplateStatus
from smsdash.queue import enqueue, enqueue_at

logger = logging.getLogger(__name__)

# With Redis a follow-up check runs as its scheduled job; the sweep takes only those left this late
# (a lost scheduled job, a worker without --with-scheduler). Inline it takes every due one.
SCHEDULED_CHECK_LATE = timedelta(minutes=1)


def enqueue_submission(attempt_id: int) -> None:
    # No rq retry: a failed submission goes back to the reviewer with the error, and the
    # provider's 30 s / 100 a day limits make blind retries costly.
    enqueue(template_submission_run, attempt_id, queue="default", job_id=f"template-submission-{attempt_id}")


def template_submission_run(attempt_id: int) -> None:
    """Submit one template to its provider, once per attempt, and record the outcome."""
    from apps.providers.clients import client_for

    attempt = services.submission_claim(attempt_id=attempt_id)
    if attempt is None:
        return  # another worker has it, it already ran, or it was given back before it started
    submission = services.template_submission(attempt.template)
    try:
        client = client_for(attempt.account)
        try:
            result = client.submit_template(submission)
        finally:
            client.close()
    except Exception as exc:  # every failure must reach the template, or it stays "submitted"
        if not isinstance(exc, services.ProviderError):
            logger.exception("template submission %s failed unexpectedly", attempt_id)
        services.template_record_submission(attempt=attempt, error=exc)
        return
    services.template_record_submission(attempt=attempt, result=result)
    schedule_review_check(attempt.template)


def schedule_review_check(template: SmsTemplate | None) -> None:
    """Schedule the template's next follow-up check, if it has one (inline: the sweep asks)."""
    if template is None or template.status != TemplateStatus.PROVIDER_REVIEW or template.review_check_at is None:
        return
    job_id = f"template-review-{template.pk}-{template.review_checks}"
    # rq files a scheduled job under whole seconds, dropping the fraction, and would run it up to a
    # second early, before its check is due: round up.
    at = template.review_check_at
    at = at.replace(microsecond=0) + timedelta(seconds=1) if at.microsecond else at
    enqueue_at(at, template_review_check_run, template.pk, queue="default", job_id=job_id)


def template_review_check_run(template_id: int) -> None:
    """Ask the provider for a just-submitted template's review, and schedule the next check."""
    schedule_review_check(follow_up.template_follow_review(template_id=template_id))


def template_submission_sweep_job() -> None:
    """Periodic (smsdash/cron.py): restart lost submissions, give back those never started or whose
    worker died, and make the follow-up review checks that are due."""
    outcome = sweeps.submission_sweep()
    for attempt_id in outcome.restart:
        enqueue_submission(attempt_id)
    if any(outcome.counts().values()):
        logger.info("template submission sweep: %s", outcome.counts())
    late = timedelta(0) if settings.JOBS_INLINE else SCHEDULED_CHECK_LATE
    for template_id in follow_up.review_checks_due(now=timezone.now(), late=late):
        try:
            template_review_check_run(template_id)
        except Exception:  # one template's failure must not hold back the others' checks
            logger.exception("review check of template %s failed", template_id)
