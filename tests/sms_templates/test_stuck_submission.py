"""A template whose submission job was lost can always be moved on by a reviewer: submitted again
when its job never started, sent back in any case; never while its job is still running."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.sms_templates import jobs, services
from apps.sms_templates.models import SubmissionAttempt, TemplateStatus
from tests.sms_templates.conftest import template_in

pytestmark = pytest.mark.django_db

S = TemplateStatus


def submitted(account, author, *, requested_ago=None, started_ago=None):
    """A template marked submitted, with an open attempt requested that long ago (None: no attempt at all)."""
    template = template_in(S.SUBMITTED, author=author, account=account)
    if requested_ago is not None:
        now = timezone.now()
        started = now - started_ago if started_ago is not None else None
        SubmissionAttempt.objects.create(
            template=template, account=account, requested_at=now - requested_ago, started_at=started
        )
    return template


def create_calls(simulator) -> int:
    return simulator.stats()["requests"].get("aliyun", {}).get("CreateSmsTemplate", 0)


def test_a_reviewer_submits_again_a_template_whose_job_was_lost(
    simulator, simulated_account, author, reviewer, settings, django_capture_on_commit_callbacks
):
    settings.JOBS_INLINE = True
    template = submitted(simulated_account(), author, requested_ago=timedelta(minutes=3))
    lost = template.submission_attempts.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.template_retry_submission(template=template, actor=reviewer, comment="Job lost in a Redis restart.")
    template.refresh_from_db()
    assert template.status == S.PROVIDER_REVIEW and template.provider_template_code
    lost.refresh_from_db()
    assert lost.error == services.CLOSED_BY.format(user="bob", action="submitted again")
    steps = [(t.from_status, t.to_status, t.actor) for t in template.transitions.all()][1:]
    assert steps == [
        (S.SUBMITTED, S.INTERNALLY_APPROVED, reviewer),
        (S.INTERNALLY_APPROVED, S.SUBMITTED, reviewer),
        (S.SUBMITTED, S.PROVIDER_REVIEW, None),
    ]
    jobs.template_submission_run(lost.pk)  # the lost job turns up after all
    assert create_calls(simulator) == 1


def test_a_reviewer_sends_back_a_template_marked_submitted_without_any_job(account, author, reviewer):
    template = submitted(account, author)
    services.template_send_back(template=template, actor=reviewer, comment="Nothing was sent; check the remark.")
    assert (template.status, template.reviewer) == (S.SENT_BACK, reviewer)
    assert template.transitions.last().comment == "Nothing was sent; check the remark."


@pytest.mark.parametrize(
    ("service", "comment"),
    [(services.template_retry_submission, ""), (services.template_send_back, "Too slow.")],
)
def test_a_template_whose_job_is_still_due_to_run_is_not_moved_on(service, comment, account, author, reviewer):
    template = submitted(account, author, requested_ago=timedelta(seconds=30))
    with pytest.raises(services.TemplateWorkflowError) as refused:
        service(template=template, actor=reviewer, comment=comment)
    assert refused.value.message == services.SUBMISSION_RUNNING.format(template=template.name, minutes=2)
    template.refresh_from_db()
    assert template.status == S.SUBMITTED and template.submission_attempts.get().finished_at is None


def test_a_template_whose_worker_died_mid_call_is_sent_back_not_submitted_twice(account, author, reviewer):
    template = submitted(account, author, requested_ago=timedelta(minutes=20), started_ago=timedelta(minutes=16))
    with pytest.raises(services.TemplateWorkflowError) as refused:
        services.template_retry_submission(template=template, actor=reviewer)
    assert refused.value.message == services.RETRY_AFTER_START.format(template=template.name)
    services.template_send_back(template=template, actor=reviewer, comment="Check the console first.")
    assert template.status == S.SENT_BACK
    assert template.submission_attempts.get().error == services.CLOSED_BY.format(user="bob", action="sent back")


@pytest.mark.parametrize("service", [services.template_retry_submission, services.template_send_back])
def test_only_reviewers_move_a_stuck_template_on(service, account, author):
    template = submitted(account, author, requested_ago=timedelta(minutes=3))
    with pytest.raises(services.TemplateRoleError):
        service(template=template, actor=author, comment="Mine.")
    template.refresh_from_db()
    assert template.status == S.SUBMITTED


def test_the_template_page_says_it_is_stuck_and_offers_the_reviewer_the_ways_out(account, author, reviewer, client):
    template = submitted(account, author, requested_ago=timedelta(minutes=3))
    client.force_login(reviewer)
    page = client.get(reverse("admin:sms_templates_smstemplate_change", args=[template.pk])).content.decode()
    assert 'id="submission-stuck"' in page
    assert 'id="workflow-retry_submission"' in page and 'id="workflow-send_back"' in page
    client.force_login(author)
    page = client.get(reverse("admin:sms_templates_smstemplate_change", args=[template.pk])).content.decode()
    assert 'id="workflow-retry_submission"' not in page and 'id="workflow-send_back"' not in page
