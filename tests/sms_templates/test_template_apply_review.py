"""The provider's review, applied to a template under provider review (the sync calls this)."""

import pytest

from apps.providers.clients.base import ReviewState, TemplateReview
from apps.sms_templates import services
from apps.sms_templates.models import ProviderReviewStatus, TemplateStatus
from tests.sms_templates.conftest import template_in

pytestmark = pytest.mark.django_db

S = TemplateStatus


def under_review(author, code="SMS_100"):
    return template_in(
        S.PROVIDER_REVIEW, author=author, provider_template_code=code, provider_status=ProviderReviewStatus.REVIEWING
    )


def test_an_approval_makes_the_template_ready_to_use_and_is_recorded(author):
    template = under_review(author)
    assert services.template_apply_review(template=template, review=TemplateReview("SMS_100", ReviewState.APPROVED))
    assert template.status == S.APPROVED
    assert template.provider_status == ProviderReviewStatus.APPROVED
    assert template.decided_at is not None
    last = template.transitions.last()
    assert (last.from_status, last.to_status, last.actor, last.comment) == (
        S.PROVIDER_REVIEW,
        S.APPROVED,
        None,
        "Provider approved.",
    )


def test_applying_the_same_review_twice_changes_nothing_the_second_time(author):
    template = under_review(author)
    review = TemplateReview("SMS_100", ReviewState.REJECTED, reason="Missing signature context")
    assert services.template_apply_review(template=template, review=review) is True
    decided_at = template.decided_at
    assert services.template_apply_review(template=template, review=review) is False
    template.refresh_from_db()
    assert template.status == S.REJECTED
    assert template.provider_reason == "Missing signature context"
    assert template.decided_at == decided_at
    assert template.transitions.filter(to_status=S.REJECTED).count() == 1


def test_still_reviewing_changes_nothing(author):
    template = under_review(author)
    assert services.template_apply_review(template=template, review=TemplateReview("SMS_100", "reviewing")) is False
    assert template.transitions.count() == 1


def test_approved_but_not_yet_effective_stays_under_provider_review(author):
    template = under_review(author)
    review = TemplateReview("SMS_100", ReviewState.APPROVED_PENDING)
    assert services.template_apply_review(template=template, review=review) is True
    assert (template.status, template.provider_status) == (S.PROVIDER_REVIEW, ProviderReviewStatus.APPROVED_PENDING)
    assert template.decided_at is None


def test_a_cancelled_review_counts_as_rejected_with_a_reason(author):
    template = under_review(author)
    assert services.template_apply_review(template=template, review=TemplateReview("SMS_100", ReviewState.CANCELLED))
    assert template.status == S.REJECTED
    assert template.provider_reason == services.CANCELLED_REASON


def test_a_review_of_another_code_or_of_a_template_not_under_provider_review_is_ignored(author):
    template = under_review(author)
    assert services.template_apply_review(template=template, review=TemplateReview("SMS_999", "approved")) is False
    withdrawn = template_in(S.WITHDRAWN, author=author, provider_template_code="SMS_7")
    assert services.template_apply_review(template=withdrawn, review=TemplateReview("SMS_7", "approved")) is False
    assert (template.status, withdrawn.status) == (S.PROVIDER_REVIEW, S.WITHDRAWN)
