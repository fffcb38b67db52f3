"""Submitting to a provider over real HTTP against the simulator, and following its review."""

import pytest
from django.urls import reverse

from apps.providers.models import Provider
from apps.sms_templates import jobs, services, views
from apps.sms_templates.models import SubmissionAttempt, TemplateStatus
from tests.sms_templates.conftest import template_in

pytestmark = pytest.mark.django_db

S = TemplateStatus


@pytest.fixture(autouse=True)
def inline_jobs(settings):
    settings.JOBS_INLINE = True


def submit(template, reviewer, capture):
    with capture(execute=True):
        services.template_submit_to_provider(template=template, actor=reviewer)
    template.refresh_from_db()
    return template


def calls(simulator, provider, operation):
    return simulator.stats()["requests"].get(provider, {}).get(operation, 0)


@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT])
def test_an_approved_template_is_submitted_and_the_providers_approval_is_followed(
    provider, simulator, simulated_account, author, reviewer, django_capture_on_commit_callbacks
):
    simulator.set_review(outcome="approved", delay=0)
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account(provider))
    submit(template, reviewer, django_capture_on_commit_callbacks)
    assert template.status == S.PROVIDER_REVIEW and template.provider_status == "reviewing"
    at_provider = simulator.template(provider, template.provider_template_code)
    # Tencent numbers its variables: the client sends ${code} as {1}
    expected = "Your code is {1}." if provider == Provider.TENCENT else template.content
    assert (at_provider.name, at_provider.content) == (template.name, expected)
    assert template.submitted_at is not None and template.last_error == ""
    assert services.template_refresh_review(template=template) is True
    assert (template.status, template.provider_status) == (S.APPROVED, "approved")
    steps = [(t.from_status, t.to_status) for t in template.transitions.all()][1:]
    assert steps == [
        (S.INTERNALLY_APPROVED, S.SUBMITTED),
        (S.SUBMITTED, S.PROVIDER_REVIEW),
        (S.PROVIDER_REVIEW, S.APPROVED),
    ]


@pytest.mark.parametrize("kind,intl_type", [("verification", 2), ("notification", 0), ("promotional", 1)])
def test_an_international_template_reaches_alibaba_as_its_kind_with_its_sign_name(
    kind, intl_type, simulator, simulated_account, author, reviewer, django_capture_on_commit_callbacks
):
    account = simulated_account(Provider.ALIYUN, is_enterprise=True)
    template = template_in(
        S.INTERNALLY_APPROVED, author=author, account=account, type="international", international_kind=kind
    )
    submit(template, reviewer, django_capture_on_commit_callbacks)
    at_provider = simulator.template(Provider.ALIYUN, template.provider_template_code)
    assert (at_provider.type, at_provider.intl_type) == (3, intl_type)


@pytest.mark.parametrize("kind,sms_type", [("verification", 3), ("notification", 2), ("promotional", 1)])
def test_an_international_template_reaches_tencent_as_its_kind(
    kind, sms_type, simulator, simulated_account, author, reviewer, django_capture_on_commit_callbacks
):
    account = simulated_account(Provider.TENCENT, is_enterprise=True)
    template = template_in(
        S.INTERNALLY_APPROVED, author=author, account=account, type="international", international_kind=kind
    )
    submit(template, reviewer, django_capture_on_commit_callbacks)
    at_provider = simulator.template(Provider.TENCENT, template.provider_template_code)
    assert (at_provider.type, at_provider.international) == (sms_type, 1)


def test_the_submission_carries_the_templates_sign_name(author):
    template = template_in(S.INTERNALLY_APPROVED, author=author, sign_name="Example")
    submission = services.template_submission(template)
    assert (submission.type, submission.international, submission.sign_name) == ("verification", False, "Example")


def test_a_rejection_shows_the_providers_reason_and_the_template_can_be_reworked(
    simulator, simulated_account, author, reviewer, client, django_capture_on_commit_callbacks
):
    simulator.set_review(outcome="rejected", reason="The use case is unclear.", delay=0)
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    submit(template, reviewer, django_capture_on_commit_callbacks)
    client.force_login(reviewer)
    url = reverse("admin:sms_templates_smstemplate_workflow", args=[template.pk, "refresh_review"])
    response = client.post(url, follow=True)
    assert [(m.level_tag, str(m)) for m in response.context["messages"]] == [
        ("warning", views.PROVIDER_REJECTED.format(name=template.name, reason="The use case is unclear."))
    ]
    assert "Provider's reason: The use case is unclear." in response.content.decode()
    template.refresh_from_db()
    assert template.status == S.REJECTED and template.decided_at is not None
    services.template_submit_for_review(template=template, actor=author)
    assert template.status == S.AWAITING_REVIEW


def test_an_approval_found_by_refresh_is_shown_as_a_success(
    simulator, simulated_account, author, reviewer, client, django_capture_on_commit_callbacks
):
    simulator.set_review(outcome="approved", delay=0)
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    submit(template, reviewer, django_capture_on_commit_callbacks)
    client.force_login(reviewer)
    url = reverse("admin:sms_templates_smstemplate_workflow", args=[template.pk, "refresh_review"])
    response = client.post(url, follow=True)
    assert [(m.level_tag, str(m)) for m in response.context["messages"]] == [
        ("success", views.PROVIDER_APPROVED.format(name=template.name))
    ]


def test_a_refused_credential_is_shown_on_the_template_in_words(
    simulated_account, author, reviewer, client, django_capture_on_commit_callbacks
):
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account(key_secret="wrong"))
    submit(template, reviewer, django_capture_on_commit_callbacks)
    assert template.status == S.INTERNALLY_APPROVED
    assert template.last_error.startswith("The provider refused the account's credentials or permissions: ")
    assert template.transitions.last().comment == f"Submission failed: {template.last_error}"
    client.force_login(reviewer)
    page = client.get(reverse("admin:sms_templates_smstemplate_change", args=[template.pk]))
    assert "Last submission failed. The provider refused the account&#x27;s credentials" in page.content.decode()
    assert "Submit to provider" in page.content.decode()  # a reviewer can fix the account and try again


@pytest.mark.parametrize(
    "faults,words",
    [
        (dict(outage=True), "The provider could not be reached or failed; submit again: "),
        (dict(throttle=True), "The provider is rate limiting this account; submit again later: "),
    ],
)
def test_an_outage_or_throttling_is_surfaced_and_nothing_is_left_half_done(
    faults, words, simulator, simulated_account, author, reviewer, django_capture_on_commit_callbacks
):
    simulator.set_faults(provider="aliyun", **faults)
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    submit(template, reviewer, django_capture_on_commit_callbacks)
    assert template.status == S.INTERNALLY_APPROVED and template.provider_template_code == ""
    assert template.last_error.startswith(words)
    attempt = SubmissionAttempt.objects.get(template=template)
    assert attempt.finished_at is not None and attempt.error == template.last_error


def test_a_submission_job_run_twice_submits_once(
    simulator, simulated_account, author, reviewer, django_capture_on_commit_callbacks
):
    template = template_in(S.INTERNALLY_APPROVED, author=author, account=simulated_account())
    submit(template, reviewer, django_capture_on_commit_callbacks)
    jobs.template_submission_run(SubmissionAttempt.objects.get(template=template).pk)
    assert calls(simulator, "aliyun", "CreateSmsTemplate") == 1
    assert template.transitions.filter(to_status=S.PROVIDER_REVIEW).count() == 1


def test_a_failed_refresh_says_why_and_changes_nothing(simulator, simulated_account, author, reviewer, client):
    account = simulated_account()
    template = template_in(S.PROVIDER_REVIEW, author=author, account=account, provider_template_code="SMS_0")
    client.force_login(reviewer)
    url = reverse("admin:sms_templates_smstemplate_workflow", args=[template.pk, "refresh_review"])
    messages = [str(m) for m in client.post(url, follow=True).context["messages"]]
    assert len(messages) == 1 and messages[0].startswith("Could not ask the provider: The provider refused")
    template.refresh_from_db()
    assert template.status == S.PROVIDER_REVIEW
