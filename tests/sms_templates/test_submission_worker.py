"""The submission job on a real Redis queue, run by an rq burst worker (as with REDIS_URL set)."""

import django_rq
import pytest
from rq import SimpleWorker

from apps.sms_templates import services
from apps.sms_templates.models import SubmissionAttempt, TemplateStatus
from tests.sms_templates.conftest import template_in

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

S = TemplateStatus


@pytest.fixture
def rq_redis(jobs_on_redis):
    return jobs_on_redis


def test_the_submission_waits_for_a_worker_and_a_worker_runs_it_once(
    rq_redis, simulator, simulated_account, author, reviewer, django_capture_on_commit_callbacks
):
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    with django_capture_on_commit_callbacks(execute=True):
        attempt = services.template_submit_to_provider(template=template, actor=reviewer)
    queue = django_rq.get_queue("default")
    assert queue.job_ids == [f"template-submission-{attempt.pk}"]
    template.refresh_from_db()
    assert template.status == S.SUBMITTED and template.provider_template_code == ""

    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    template.refresh_from_db()
    assert template.status == S.PROVIDER_REVIEW
    assert template.provider_template_code == SubmissionAttempt.objects.get(pk=attempt.pk).template_code != ""
    assert queue.count == 0 and queue.failed_job_registry.count == 0
    assert simulator.stats()["requests"]["aliyun"]["CreateSmsTemplate"] == 1
