"""Background jobs of the template workflow: thin wrappers that load ids and call services."""

from __future__ import annotations

import logging

from apps.sms_templates import services
from smsdash.queue import enqueue

logger = logging.getLogger(__name__)


def enqueue_submission(attempt_id: int) -> None:
    # No rq retry: a failed submission goes back to the reviewer with the error, and the
    # provider's 30 s / 100 a day limits make blind retries costly.
    enqueue(template_submission_run, attempt_id, queue="default", job_id=f"template-submission-{attempt_id}")


def template_submission_run(attempt_id: int) -> None:
    """Submit one template to its provider, once per attempt, and record the outcome."""
    from apps.providers.clients import client_for

    attempt = services.submission_claim(attempt_id=attempt_id)
    if attempt is None:
        return  # another worker has it, or it already ran
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


def template_submission_sweep_job() -> None:
    """Every two minutes (smsdash/cron.py): restart lost submissions, release dead ones."""
    outcome = services.submission_sweep()
    if any(outcome.values()):
        logger.info("template submission sweep: %s", outcome)
