"""Template review sync against the simulator: approval, rejection with the provider's reason."""

from __future__ import annotations

import time

import pytest

from apps.providers.models import Provider, SyncKind, SyncStatus
from apps.providers.sync import runs
from apps.providers.sync.engine import sync_execute
from apps.sms_templates.models import TemplateStatus
from tests.factories import make_template
from tests.providers import sync_helpers
from tests.providers.sync_helpers import calls, fresh_breaker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_redis")]

isolated_redis = sync_helpers.isolated_redis

CODES = {Provider.ALIYUN: ("SMS_470000001", "SMS_470000002"), Provider.TENCENT: ("3100001", "3100002")}


def under_review(account, code: str):
    return make_template(
        account, provider_template_code=code, status=TemplateStatus.PROVIDER_REVIEW, provider_status="reviewing"
    )


def reviews(account):
    return sync_execute(account=account, kind=SyncKind.TEMPLATES)


@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT])
def test_templates_under_review_become_approved_or_rejected_with_the_reason(simulator, simulated_account, provider):
    account = fresh_breaker(simulated_account(provider))
    approved_code, rejected_code = CODES[provider]
    simulator.add_template(provider, code=approved_code, status="approved")
    reason = "The signature does not match the company name."
    simulator.add_template(provider, code=rejected_code, status="rejected", reason=reason)
    approved, rejected = under_review(account, approved_code), under_review(account, rejected_code)
    run = reviews(account)
    assert (run.status, run.items_updated, run.progress_done, run.progress_total) == (SyncStatus.SUCCEEDED, 2, 2, 2)
    approved.refresh_from_db()
    rejected.refresh_from_db()
    assert (approved.status, approved.provider_status) == (TemplateStatus.APPROVED, "approved")
    assert (rejected.status, rejected.provider_status, rejected.provider_reason) == (
        TemplateStatus.REJECTED,
        "rejected",
        reason,
    )
    assert reason in rejected.transitions.last().comment


def test_a_template_still_in_review_stays_and_is_asked_again_next_time(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    pending = simulator.add_template(Provider.ALIYUN, code="SMS_470000003", status="reviewing")
    pending.decide_at = time.monotonic() + 3600  # the provider's reviewers take their time
    template = under_review(account, "SMS_470000003")
    first = reviews(account)
    template.refresh_from_db()
    assert (first.items_updated, template.status) == (0, TemplateStatus.PROVIDER_REVIEW)
    simulator.add_template(Provider.ALIYUN, code="SMS_470000003", status="approved")
    reviews(account)
    template.refresh_from_db()
    assert template.status == TemplateStatus.APPROVED
    assert calls(simulator, "aliyun", "GetSmsTemplate") == 2
    reviews(account)  # decided templates are no longer asked about
    assert calls(simulator, "aliyun", "GetSmsTemplate") == 2


def test_a_template_the_provider_does_not_know_is_skipped_and_named_the_others_go_on(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    missing = under_review(account, "SMS_479999999")
    simulator.add_template(Provider.ALIYUN, code="SMS_470000004", status="approved")
    fine = under_review(account, "SMS_470000004")
    run = reviews(account)
    fine.refresh_from_db()
    assert fine.status == TemplateStatus.APPROVED
    assert run.status == SyncStatus.FAILED and run.errors == 1 and run.cursor == {}
    assert run.failure_reason.startswith(runs.SKIPPED_REASON.split("{")[0].format())
    assert f"template {missing.name}: " in run.failure_reason
