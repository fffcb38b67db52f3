"""The periodic sweep of template submissions (smsdash/cron.py runs it through jobs.py).

A submission's job can be lost between the reviewer's click and a worker: Redis flushed or
restarted, or no worker taking the queue. The attempt row stays open and unstarted; the sweep
queues it again a few times, then gives the template back to the reviewers, which is safe because
the provider was never called (the claim refuses an attempt closed before it started). A worker
that died mid-call is different: the provider may have the template, so a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from apps.sms_templates import services
from apps.sms_templates.models import SubmissionAttempt, TemplateStatus

MAX_RESTARTS = 2  # queued again after LOST_AFTER and 2 x LOST_AFTER, given back after 3 x LOST_AFTER
NEVER_STARTED = (
    "No worker started the job submitting “{name}” within {minutes} minutes (queued {times} times); "
    "the provider was not called, so it can be submitted again."
)


@dataclass
class SweepOutcome:
    restart: list[int] = field(default_factory=list)  # attempt ids whose job must be queued again
    given_back: int = 0
    abandoned: int = 0

    def counts(self) -> dict[str, int]:
        return {"restarted": len(self.restart), "given_back": self.given_back, "abandoned": self.abandoned}


def submission_sweep(*, now: datetime | None = None) -> SweepOutcome:
    now = now or timezone.now()
    outcome = SweepOutcome()
    pending = SubmissionAttempt.objects.filter(finished_at__isnull=True, template__status=TemplateStatus.SUBMITTED)
    unstarted = pending.filter(started_at__isnull=True).select_related("template")
    for attempt in unstarted.filter(requested_at__lt=now - services.LOST_AFTER):
        if attempt.requested_at < now - services.LOST_AFTER * (MAX_RESTARTS + 1):
            outcome.given_back += _give_back(attempt, now=now)
        elif attempt.requested_at < now - services.LOST_AFTER * (attempt.restarts + 1):
            # claimed by a conditional update, so two sweeps at once queue it only once
            again = SubmissionAttempt.objects.filter(pk=attempt.pk, restarts=attempt.restarts, started_at__isnull=True)
            if again.update(restarts=F("restarts") + 1) == 1:
                outcome.restart.append(attempt.pk)
    stale = pending.filter(started_at__lt=now - services.STALE_AFTER).select_related("template")
    for attempt in stale:
        error = services.TemplateWorkflowError(services.OUTCOME_UNKNOWN.format(name=attempt.template.name))
        services.template_record_submission(attempt=attempt, error=error)
        outcome.abandoned += 1
    return outcome


def _give_back(attempt: SubmissionAttempt, *, now: datetime) -> int:
    minutes = int((now - attempt.requested_at).total_seconds() // 60)
    message = NEVER_STARTED.format(name=attempt.template.name, minutes=minutes, times=attempt.restarts + 1)
    closed = SubmissionAttempt.objects.filter(pk=attempt.pk, started_at__isnull=True, finished_at__isnull=True)
    if closed.update(finished_at=now) != 1:
        return 0  # a worker took it at the last moment: its outcome will be recorded
    services.template_record_submission(attempt=attempt, error=services.TemplateWorkflowError(message))
    return 1
