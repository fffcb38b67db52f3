"""The delivery pull against the simulator over HTTP: grouping, paging, every status, unknown
messages, expiry, and the number of provider calls."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.messaging.delivery.receipts import match_pending_receipts
from apps.messaging.models import DeliveryReceipt, SentMessage
from apps.providers.models import Provider, SyncKind, SyncStatus
from apps.providers.sync.engine import sync_execute
from tests.factories import make_message
from tests.providers import sync_helpers
from tests.providers.sync_helpers import a_day_ago_10am, calls, fresh_breaker, seed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_redis")]

isolated_redis = sync_helpers.isolated_redis


def run_delivery(account, **kwargs):
    return sync_execute(account=account, kind=SyncKind.DELIVERY, **kwargs)


def test_alibaba_pages_50_at_a_time_through_every_page_one_call_per_page(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    busy = seed(simulator, account, phone="+8613800000001", count=120)  # 3 pages of 50
    quiet = seed(simulator, account, phone="+8613800000002", count=1, delivery="failed", error_code="MK:0001")
    run = run_delivery(account)
    assert (run.status, run.pages_fetched, run.progress_done, run.progress_total) == (SyncStatus.SUCCEEDED, 4, 2, 2)
    assert run.items_updated == 121 and run.percent == 100
    assert calls(simulator, "aliyun", "QuerySendDetails") == 4  # ceil(120/50) + 1: the minimum
    statuses = set(SentMessage.objects.filter(pk__in=[m.pk for m in busy]).values_list("delivery_status", flat=True))
    assert statuses == {"delivered"}
    quiet[0].refresh_from_db()
    assert (quiet[0].delivery_status, quiet[0].error_code) == ("failed", "MK:0001")


@pytest.mark.parametrize(
    ("delivery", "error_code", "expected"),
    [
        ("pending", "", ("pending", "")),
        ("failed", "IC:0001", ("failed", "IC:0001")),
        ("delivered", "", ("delivered", "DELIVERED")),
    ],
    ids=["SendStatus 1 waiting", "SendStatus 2 failed", "SendStatus 3 delivered"],
)
def test_every_alibaba_send_status(simulator, simulated_account, delivery, error_code, expected):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    kwargs = {"error_code": error_code} if error_code else {}
    [message] = seed(simulator, account, phone="+8613800000003", count=1, delivery=delivery, **kwargs)
    run_delivery(account)
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == expected
    assert (message.received_at is not None) == (delivery == "delivered")


@pytest.mark.parametrize("provider", [Provider.TENCENT, Provider.PLIVO])
def test_tencent_and_plivo_statuses_are_applied(simulator, simulated_account, provider):
    account = fresh_breaker(simulated_account(provider))
    delivered = seed(simulator, account, phone="+8613800000004", count=3)
    failed = seed(simulator, account, phone="+8613800000005", count=1, delivery="failed", error_code="UNDELIV")
    run = run_delivery(account)
    assert run.status == SyncStatus.SUCCEEDED, run.failure_reason
    for message in delivered:
        message.refresh_from_db()
        assert message.delivery_status == "delivered"
    failed[0].refresh_from_db()
    assert failed[0].delivery_status == "failed" and failed[0].error_code


def test_plivo_asks_a_lone_message_by_id_and_a_phones_several_messages_by_list(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.PLIVO))
    seed(simulator, account, phone="+14155550001", count=1)
    seed(simulator, account, phone="+14155550002", count=25)  # two list pages of 20
    run = run_delivery(account)
    assert run.items_updated == 26
    assert run.pages_fetched == 3


def test_messages_the_provider_reports_that_smsdash_did_not_know_are_kept_and_matched_later(
    simulator, simulated_account
):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    seed(simulator, account, phone="+8613800000006", count=1)
    start = a_day_ago_10am(Provider.ALIYUN) + timedelta(hours=2)
    seed(simulator, account, phone="+8613800000006", count=2, start=start, known=False, out_id="other-system")
    run = run_delivery(account)
    assert run.status == SyncStatus.SUCCEEDED
    receipts = DeliveryReceipt.objects.filter(account=account, matched_at__isnull=True)
    assert [(r.phone, r.state, r.out_id) for r in receipts] == [("+8613800000006", "delivered", "other-system")] * 2
    run_delivery(account)  # asking again stores nothing twice
    assert DeliveryReceipt.objects.filter(account=account).count() == 2
    late = make_message(
        account, provider_message_id="late-1", phone="+8613800000006", sent_at=start, out_id="other-system"
    )
    assert match_pending_receipts([late]) == 1
    late.refresh_from_db()
    assert late.delivery_status == "delivered"


def test_pending_messages_older_than_alibabas_30_days_expire_and_are_not_queried(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    old = make_message(account, phone="+8613800000007", sent_at=a_day_ago_10am(Provider.ALIYUN) - timedelta(days=30))
    run = run_delivery(account)
    old.refresh_from_db()
    assert old.delivery_status == "expired"
    assert (run.progress_total, calls(simulator, "aliyun", "QuerySendDetails")) == (0, 0)


def test_a_sync_for_selected_messages_asks_only_about_their_phones(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    [chosen] = seed(simulator, account, phone="+8613800000008", count=1)
    [other] = seed(simulator, account, phone="+8613800000009", count=1)
    run = run_delivery(account, scope={"messages": [chosen.pk]}, trigger="admin")
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert (chosen.delivery_status, other.delivery_status) == ("delivered", "pending")
    assert (run.trigger, calls(simulator, "aliyun", "QuerySendDetails")) == ("admin", 1)


def test_tencent_pages_past_100_receipts_by_time(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.TENCENT))
    messages = seed(simulator, account, phone="+8613800000010", count=130)
    run = run_delivery(account)
    assert (run.status, run.pages_fetched, run.items_updated) == (SyncStatus.SUCCEEDED, 2, 130)
    assert calls(simulator, "tencent", "PullSmsSendStatusByPhoneNumber") == 2
    assert {m.delivery_status for m in SentMessage.objects.filter(pk__in=[m.pk for m in messages])} == {"delivered"}


def seed_days(simulator, account, *, phone: str, per_day: int, days: int):
    """per_day messages to phone on each of `days` send dates (two days ago, three, ...)."""
    start = a_day_ago_10am(account.provider)
    return [
        m
        for back in range(days)
        for m in seed(
            simulator, account, phone=phone, count=per_day, start=start - timedelta(days=back), first=back * 1000
        )
    ]


def test_tencent_asks_once_for_a_phones_pending_messages_of_several_days(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.TENCENT))
    messages = seed_days(simulator, account, phone="+8613800000011", per_day=2, days=3)
    assert len({m.sent_at.date() for m in messages}) == 3
    run = run_delivery(account)
    assert (run.status, run.progress_total, run.pages_fetched, run.items_updated) == (SyncStatus.SUCCEEDED, 1, 1, 6)
    assert calls(simulator, "tencent", "PullSmsSendStatusByPhoneNumber") == 1  # one phone: one call, not one a day
    assert {m.delivery_status for m in SentMessage.objects.filter(pk__in=[m.pk for m in messages])} == {"delivered"}


def test_tencent_pages_a_phones_several_days_past_100_receipts(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.TENCENT))
    messages = seed_days(simulator, account, phone="+8613800000012", per_day=60, days=3)  # 180: two pulls of 100
    seed(simulator, account, phone="+8613800000013", count=1)
    run = run_delivery(account)
    assert (run.status, run.progress_total, run.pages_fetched, run.items_updated) == (SyncStatus.SUCCEEDED, 2, 3, 181)
    assert calls(simulator, "tencent", "PullSmsSendStatusByPhoneNumber") == 3
    assert {m.delivery_status for m in SentMessage.objects.filter(pk__in=[m.pk for m in messages])} == {"delivered"}


def test_pending_tencent_messages_older_than_7_days_expire_and_are_not_queried(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.TENCENT))
    old = make_message(account, phone="+8613800000014", sent_at=a_day_ago_10am(Provider.TENCENT) - timedelta(days=6))
    [recent] = seed(simulator, account, phone="+8613800000014", count=1)
    run = run_delivery(account)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.delivery_status, recent.delivery_status) == ("expired", "delivered")
    assert (run.progress_total, calls(simulator, "tencent", "PullSmsSendStatusByPhoneNumber")) == (1, 1)
