"""The periodic sweep: a lost submission job is queued again a few times, then given back to the
reviewers; a dead worker's submission is given back with the reason."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.sms_templates import jobs, services, sweeps
from apps.sms_templates.models import SubmissionAttempt, TemplateStatus
from tests.sms_templates.conftest import template_in

pytestmark = pytest.mark.django_db

S = TemplateStatus


def pending_attempt(account, author, *, requested_ago, started_ago=None, restarts=0):
    template = template_in(S.SUBMITTED, author=author, account=account)
    now = timezone.now()
    started = now - started_ago if started_ago is not None else None
    return SubmissionAttempt.objects.create(
        template=template, account=account, requested_at=now - requested_ago, started_at=started, restarts=restarts
    )


def test_a_lost_submission_job_is_started_again(
    simulator, simulated_account, author, settings, django_capture_on_commit_callbacks
):
    settings.JOBS_INLINE = True
    attempt = pending_attempt(simulated_account(), author, requested_ago=timedelta(minutes=3))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.template_submission_sweep_job()
    attempt.template.refresh_from_db()
    assert attempt.template.status == S.PROVIDER_REVIEW and attempt.template.provider_template_code


def test_a_fresh_submission_is_left_to_its_worker(account, author, django_capture_on_commit_callbacks):
    pending_attempt(account, author, requested_ago=timedelta(seconds=30))
    pending_attempt(account, author, requested_ago=timedelta(minutes=5), started_ago=timedelta(minutes=5))
    with django_capture_on_commit_callbacks() as callbacks:
        assert sweeps.submission_sweep().counts() == {"restarted": 0, "given_back": 0, "abandoned": 0}
    assert callbacks == []


def test_a_lost_job_is_queued_again_once_per_wait_not_on_every_sweep(account, author):
    attempt = pending_attempt(account, author, requested_ago=timedelta(minutes=3))
    assert sweeps.submission_sweep().restart == [attempt.pk]
    assert sweeps.submission_sweep().restart == []
    assert SubmissionAttempt.objects.get(pk=attempt.pk).restarts == 1


def test_a_submission_no_worker_ever_started_goes_back_to_the_reviewers(account, author):
    attempt = pending_attempt(account, author, requested_ago=timedelta(minutes=7), restarts=2)
    assert sweeps.submission_sweep().counts() == {"restarted": 0, "given_back": 1, "abandoned": 0}
    template = attempt.template
    template.refresh_from_db()
    assert template.status == S.INTERNALLY_APPROVED
    assert template.last_error == sweeps.NEVER_STARTED.format(name=template.name, minutes=7, times=3)
    assert template.transitions.last().comment == f"Submission failed: {template.last_error}"


def test_a_job_that_turns_up_after_its_submission_was_given_back_does_not_submit(simulator, simulated_account, author):
    attempt = pending_attempt(simulated_account(), author, requested_ago=timedelta(minutes=7), restarts=2)
    sweeps.submission_sweep()
    jobs.template_submission_run(attempt.pk)
    assert simulator.stats()["requests"].get("aliyun", {}).get("CreateSmsTemplate", 0) == 0
    attempt.template.refresh_from_db()
    assert attempt.template.status == S.INTERNALLY_APPROVED


def test_a_submission_whose_worker_died_goes_back_to_the_reviewers_with_the_reason(account, author):
    attempt = pending_attempt(account, author, requested_ago=timedelta(minutes=30), started_ago=timedelta(minutes=20))
    assert sweeps.submission_sweep().counts() == {"restarted": 0, "given_back": 0, "abandoned": 1}
    template = attempt.template
    template.refresh_from_db()
    assert template.status == S.INTERNALLY_APPROVED
    assert template.last_error == services.OUTCOME_UNKNOWN.format(name=template.name)
    assert template.transitions.last().comment == f"Submission failed: {template.last_error}"
