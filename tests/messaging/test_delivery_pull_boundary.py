"""The delivery pull at the input boundary: a provider's query answer with a year-1 time or a NUL in
a field (over real HTTP from the simulator) does not fail the sync run; the time is dropped and the
state kept, the record with the bad text is skipped, each logged once with its message id."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from apps.messaging.delivery.services import delivery_apply
from apps.messaging.models import DeliveryReceipt, SentMessage
from apps.providers.clients.base import DeliveryRecord, DeliveryState
from apps.providers.models import Provider, SyncKind, SyncStatus
from apps.providers.simulator.common import CHINA_TIME
from apps.providers.sync.engine import sync_execute
from tests.factories import make_message
from tests.providers import sync_helpers
from tests.providers.sync_helpers import fresh_breaker, seed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_redis")]

isolated_redis = sync_helpers.isolated_redis

# How each provider would write a year-1 time: Alibaba in China time ("0001-01-01 00:00:00", which
# has no UTC equivalent: the simulator writes it as is, in its own zone), Plivo in UTC.
YEAR_1 = {
    Provider.ALIYUN: datetime(1, 1, 1, tzinfo=CHINA_TIME),
    Provider.PLIVO: datetime(1, 1, 1, tzinfo=UTC),
}


@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.PLIVO])
def test_a_year_1_receive_time_in_a_query_answer_is_dropped_and_the_state_kept(
    simulator, simulated_account, caplog, provider
):
    account = fresh_breaker(simulated_account(provider))
    [odd] = seed(simulator, account, phone="+8613800000011", count=1, received_at=YEAR_1[provider])
    [fine] = seed(simulator, account, phone="+8613800000012", count=1)
    with caplog.at_level(logging.WARNING):
        run = sync_execute(account=account, kind=SyncKind.DELIVERY)
    assert (run.status, run.failure_reason) == (SyncStatus.SUCCEEDED, "")
    odd.refresh_from_db()
    fine.refresh_from_db()
    assert (odd.delivery_status, odd.received_at) == ("delivered", None)
    assert (fine.delivery_status, fine.received_at is not None) == ("delivered", True)
    assert sum("without received_at 0001-01-01" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT, Provider.PLIVO])
def test_a_nul_in_a_query_answers_error_code_skips_that_record_and_the_run_goes_on(
    simulator, simulated_account, caplog, provider
):
    account = fresh_breaker(simulated_account(provider))
    [odd] = seed(simulator, account, phone="+8613800000013", count=1, delivery="failed", error_code="MK:\x000001")
    [fine] = seed(simulator, account, phone="+8613800000014", count=1, delivery="failed", error_code="MK:0002")
    with caplog.at_level(logging.WARNING):
        run = sync_execute(account=account, kind=SyncKind.DELIVERY)
    assert (run.status, run.failure_reason) == (SyncStatus.SUCCEEDED, "")
    odd.refresh_from_db()
    fine.refresh_from_db()
    assert (odd.delivery_status, odd.error_code) == ("pending", "")
    assert (fine.delivery_status, fine.error_code) == ("failed", "MK:0002")
    skipped = [r.getMessage() for r in caplog.records if "skipped: error_code" in r.getMessage()]
    assert len(skipped) == 1
    if provider != Provider.ALIYUN:  # Alibaba's query rows carry no message id
        assert repr(odd.provider_message_id) in skipped[0]


YEAR_1_UTC = datetime(1, 1, 1, tzinfo=UTC)


def test_a_receipt_stored_with_a_year_1_send_time_before_the_boundary_does_not_fail_the_sync(simulated_account):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    DeliveryReceipt.objects.create(
        account=account, fingerprint="row:legacy", phone="+8613800000015", state="delivered", sent_at=YEAR_1_UTC,
        source="pull",
    )  # fmt: skip
    run = sync_execute(account=account, kind=SyncKind.DELIVERY)
    assert (run.status, run.failure_reason) == (SyncStatus.SUCCEEDED, "")
    assert DeliveryReceipt.objects.get().matched_at is None


def test_a_message_stored_with_a_year_1_send_time_still_gets_its_receipt_by_id(simulated_account):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    delivery_apply(account=account, records=[DeliveryRecord("legacy^0", "+8613800000016", DeliveryState.DELIVERED)])
    message = make_message(account, provider_message_id="legacy^0", phone="+8613800000016")
    SentMessage.objects.filter(pk=message.pk).update(sent_at=YEAR_1_UTC)  # stored before the boundary
    run = sync_execute(account=account, kind=SyncKind.DELIVERY)
    assert (run.status, run.failure_reason) == (SyncStatus.SUCCEEDED, "")
    message.refresh_from_db()
    assert message.delivery_status == "delivered"


@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT])
def test_a_pending_message_stored_in_year_9999_before_the_boundary_is_not_asked_about(
    simulator, simulated_account, provider
):
    account = fresh_breaker(simulated_account(provider))
    [fine] = seed(simulator, account, phone="+8613800000017", count=1)
    far = make_message(account, provider_message_id="far^0", phone="+8613800000018")
    SentMessage.objects.filter(pk=far.pk).update(sent_at=datetime(9999, 12, 31, 23, 0, tzinfo=UTC))
    run = sync_execute(account=account, kind=SyncKind.DELIVERY)
    assert (run.status, run.failure_reason, run.progress_total) == (SyncStatus.SUCCEEDED, "", 1)
    fine.refresh_from_db()
    assert fine.delivery_status == "delivered"
