"""After a submission smsdash asks the provider again on a short back-off, instead of waiting for the
account's regular template sync: rq jobs scheduled on Redis, the periodic sweep without Redis."""

from datetime import timedelta

import django_rq
import pytest
from rq import SimpleWorker

from apps.providers.models import SyncRun
from apps.sms_templates import jobs, services
from apps.sms_templates.models import SmsTemplate, TemplateStatus
from tests.progress import countdown, wait_for_progress
from tests.sms_templates.conftest import template_in

S = TemplateStatus
REVIEW_DELAY = 2.5  # the simulator's reviewers decide this long after the submission (after the first check)
SHORT_BACK_OFF = (timedelta(seconds=0.5), timedelta(seconds=1), timedelta(seconds=2))


def review_calls(simulator) -> int:
    return simulator.stats()["requests"].get("aliyun", {}).get("GetSmsTemplate", 0)


def scheduled_checks(queue) -> dict[str, float]:
    """rq's scheduled jobs on the queue: job id -> due time (epoch seconds)."""
    registry = queue.scheduled_job_registry
    return {job_id.decode(): due for job_id, due in registry.connection.zrange(registry.key, 0, -1, withscores=True)}


def burst(queue) -> None:
    SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)


@pytest.mark.django_db
def test_the_first_check_is_due_30_seconds_after_the_provider_took_the_template(
    simulator, simulated_account, author, reviewer, settings, django_capture_on_commit_callbacks
):
    settings.JOBS_INLINE = True
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    with django_capture_on_commit_callbacks(execute=True):
        services.template_submit_to_provider(template=template, actor=reviewer)
    template.refresh_from_db()
    assert template.status == S.PROVIDER_REVIEW
    assert template.review_check_at - template.submitted_at == timedelta(seconds=30)


@pytest.mark.django_db
@pytest.mark.redis
def test_on_redis_the_check_is_an_rq_job_scheduled_30_seconds_after_the_submission(
    jobs_on_redis, simulator, simulated_account, author, reviewer, django_capture_on_commit_callbacks
):
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    with django_capture_on_commit_callbacks(execute=True):
        services.template_submit_to_provider(template=template, actor=reviewer)
    queue = django_rq.get_queue("default")
    with django_capture_on_commit_callbacks(execute=True):
        burst(queue)  # the submission job
    template.refresh_from_db()
    due = (template.submitted_at + timedelta(seconds=30)).timestamp()
    assert scheduled_checks(queue) == {f"template-review-{template.pk}-0": pytest.approx(due, abs=1)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_on_redis_scheduled_checks_follow_the_review_until_the_provider_decides(
    jobs_on_redis, simulator, simulated_account, author, reviewer, monkeypatch
):
    monkeypatch.setattr(services, "REVIEW_FOLLOW_UP", SHORT_BACK_OFF)
    simulator.set_review(outcome="approved", delay=REVIEW_DELAY)
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    services.template_submit_to_provider(template=template, actor=reviewer)
    queue = django_rq.get_queue("default")

    def measure():
        due = scheduled_checks(queue).values()
        left = min(due) - queue.connection.time()[0] if due else None
        return SmsTemplate.objects.get(pk=template.pk).status, review_calls(simulator), countdown(left)

    status, calls, _ = wait_for_progress(
        measure,
        lambda sample: sample[0] in (S.APPROVED, S.REJECTED),
        step=lambda: burst(queue),
        what="the follow-up checks",
    )
    assert status == S.APPROVED
    assert calls >= 2  # the first check found it still under review: the next step asked again
    assert not SyncRun.objects.exists()  # no regular sync was involved
    assert scheduled_checks(queue) == {}  # decided: nothing more is scheduled


@pytest.mark.django_db
def test_without_redis_the_periodic_sweep_makes_the_checks_until_the_provider_decides(
    simulator, simulated_account, author, reviewer, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.JOBS_INLINE = True
    monkeypatch.setattr(services, "REVIEW_FOLLOW_UP", SHORT_BACK_OFF)
    simulator.set_review(outcome="rejected", reason="Say which app sends it.", delay=REVIEW_DELAY)
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    with django_capture_on_commit_callbacks(execute=True):
        services.template_submit_to_provider(template=template, actor=reviewer)

    def measure():
        template.refresh_from_db()
        return template.status, template.review_checks, review_calls(simulator)

    status, checks, calls = wait_for_progress(
        measure,
        lambda sample: sample[0] in (S.APPROVED, S.REJECTED),
        step=jobs.template_submission_sweep_job,
        interval=0.2,
        what="the sweep's follow-up checks",
    )
    assert (status, template.provider_reason) == (S.REJECTED, "Say which app sends it.")
    assert calls == checks >= 2
    assert template.review_check_at is None
    assert not SyncRun.objects.exists()
