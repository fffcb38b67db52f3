"""Alibaba's template submission limits: at most 100 a day per account, at least 30 s apart."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.providers.models import Provider
from apps.sms_templates import limits, services
from apps.sms_templates.models import SubmissionAttempt, TemplateStatus
from tests.factories import make_account
from tests.sms_templates.conftest import template_in

pytestmark = pytest.mark.django_db

S = TemplateStatus


def past_submissions(account, author, *ages: timedelta):
    template = template_in(S.PROVIDER_REVIEW, author=author, account=account)
    now = timezone.now()
    SubmissionAttempt.objects.bulk_create(
        SubmissionAttempt(template=template, account=account, requested_at=now - age) for age in ages
    )
    return now


def test_a_second_submission_within_30_seconds_is_refused_saying_when(author, reviewer, account):
    now = past_submissions(account, author, timedelta(seconds=10))
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=account)
    with pytest.raises(services.SubmissionLimitError) as refused:
        services.template_submit_to_provider(template=template, actor=reviewer)
    next_at = refused.value.next_at
    assert abs((next_at - (now + timedelta(seconds=20))).total_seconds()) < 1
    assert refused.value.message == (
        "Alibaba Cloud requires at least 30 s between two template submissions from Alibaba main; "
        f"the next submission is possible at {limits.format_time(next_at)}."
    )
    template.refresh_from_db()
    assert template.status == S.INTERNALLY_APPROVED and template.transitions.count() == 1
    assert SubmissionAttempt.objects.filter(template=template).count() == 0


def test_after_30_seconds_the_next_submission_goes_through(author, reviewer, account):
    past_submissions(account, author, timedelta(seconds=31))
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=account)
    services.template_submit_to_provider(template=template, actor=reviewer)
    assert template.status == S.SUBMITTED


def test_the_101st_submission_in_24_hours_is_refused_until_the_oldest_is_a_day_old(author, reviewer, account):
    ages = [timedelta(hours=23)] + [timedelta(minutes=m + 1) for m in range(99)]
    now = past_submissions(account, author, *ages)
    at, message = limits.next_submission_at(account, now=now)
    assert at == now - timedelta(hours=23) + timedelta(days=1)
    assert message == (
        "Alibaba main has made 100 template submissions in the last 24 hours, Alibaba Cloud's limit; "
        f"the next submission is possible at {limits.format_time(at)}."
    )
    assert limits.next_submission_at(account, now=at + timedelta(seconds=1)) == (None, "")


def test_99_submissions_in_a_day_leave_room_for_one_more(author, account):
    now = past_submissions(account, author, *[timedelta(minutes=m + 1) for m in range(99)])
    assert limits.next_submission_at(account, now=now) == (None, "")


def test_limits_are_per_account_and_only_where_the_provider_has_them(author, account):
    past_submissions(account, author, timedelta(seconds=1))
    assert limits.next_submission_at(make_account(name="Other Alibaba"))[0] is None
    tencent = make_account(Provider.TENCENT, name="Tencent")
    past_submissions(tencent, author, timedelta(seconds=1))
    assert limits.next_submission_at(tencent) == (None, "")


def test_the_template_page_says_when_the_next_submission_is_possible(client, author, reviewer, account):
    past_submissions(account, author, timedelta(seconds=5))
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=account)
    client.force_login(reviewer)
    page = client.get(reverse("admin:sms_templates_smstemplate_change", args=[template.pk]))
    assert page.context["next_submission_message"].startswith("Alibaba Cloud requires at least 30 s between")
    assert 'id="next-submission"' in page.content.decode()
    url = reverse("admin:sms_templates_smstemplate_workflow", args=[template.pk, "submit_to_provider"])
    response = client.post(url, follow=True)
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("Alibaba Cloud requires at least 30 s") and "next submission is possible at" in message
    template.refresh_from_db()
    assert template.status == S.INTERNALLY_APPROVED


def test_a_bulk_submission_sends_the_first_and_explains_the_rest(client, author, reviewer, account):
    first, second = (template_in(S.INTERNALLY_APPROVED, author=author, account=account) for _ in range(2))
    client.force_login(reviewer)
    url = reverse("admin:sms_templates_smstemplate_changelist")
    data = {"action": "submit_to_provider", "_selected_action": [first.pk, second.pk]}
    response = client.post(url, data, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages[0] == "1 template queued for submission to the provider."
    assert messages[1].startswith("Alibaba Cloud requires at least 30 s between two template submissions")
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, second.status) == (S.SUBMITTED, S.INTERNALLY_APPROVED)


def test_an_inactive_account_takes_no_submissions(author, reviewer, account):
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=account)
    account.is_active = False
    account.save()
    with pytest.raises(services.TemplateWorkflowError) as refused:
        services.template_submit_to_provider(template=template, actor=reviewer)
    assert refused.value.message == services.ACCOUNT_INACTIVE.format(account="Alibaba main")
    assert SubmissionAttempt.objects.count() == 0
