from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from apps.messaging.delivery.services import DAY_ZONES, delivery_apply, delivery_expire_stale
from apps.messaging.models import DeliveryReceipt, DeliveryStatus
from apps.providers.clients.base import DeliveryRecord, DeliveryState
from apps.providers.models import Provider
from tests.factories import make_account, make_message

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)


def delivered(message, **overrides) -> DeliveryRecord:
    fields = dict(
        message_id=message.provider_message_id,
        phone=message.phone,
        state=DeliveryState.DELIVERED,
        error_code="DELIVRD",
        received_at=RECEIVED,
    )
    fields.update(overrides)
    return DeliveryRecord(**fields)


def test_it_marks_a_pending_message_delivered_with_code_and_received_time():
    message = make_message()
    result = delivery_apply(account=message.account, records=[delivered(message)])
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code, message.received_at) == ("delivered", "DELIVRD", RECEIVED)
    assert (result.updated, result.unchanged, result.unmatched) == (1, 0, 0)


def test_it_records_a_failure_with_the_carriers_code():
    message = make_message()
    delivery_apply(
        account=message.account, records=[delivered(message, state=DeliveryState.FAILED, error_code="UNDELIV")]
    )
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "UNDELIV")


def test_applying_the_same_receipt_twice_changes_nothing_the_second_time():
    message = make_message()
    delivery_apply(account=message.account, records=[delivered(message)])
    message.refresh_from_db()
    first_update = message.updated_at
    again = delivery_apply(account=message.account, records=[delivered(message)])
    message.refresh_from_db()
    assert (again.updated, again.unchanged) == (0, 1)
    assert message.updated_at == first_update


def test_a_pending_report_or_a_contradicting_one_never_overwrites_a_final_status():
    message = make_message()
    delivery_apply(account=message.account, records=[delivered(message)])
    delivery_apply(account=message.account, records=[delivered(message, state=DeliveryState.PENDING, error_code="")])
    delivery_apply(account=message.account, records=[delivered(message, state=DeliveryState.FAILED, error_code="X")])
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("delivered", "DELIVRD")


def test_a_late_receipt_still_resolves_an_expired_message():
    message = make_message(delivery_status=DeliveryStatus.EXPIRED)
    delivery_apply(account=message.account, records=[delivered(message)])
    message.refresh_from_db()
    assert message.delivery_status == "delivered"


def test_an_unknown_message_is_kept_as_a_receipt_once_however_often_it_is_reported():
    account = make_account()
    record = DeliveryRecord(message_id="not-sent-by-us", phone="+8613800000001", state=DeliveryState.DELIVERED)
    first = delivery_apply(account=account, records=[record])
    delivery_apply(account=account, records=[record])
    assert first.unmatched == 1
    receipt = DeliveryReceipt.objects.get(account=account)
    assert (receipt.provider_message_id, receipt.state, receipt.matched_at) == ("not-sent-by-us", "delivered", None)


def test_a_stored_pending_receipt_takes_the_final_status_of_a_later_copy():
    account = make_account()
    record = DeliveryRecord(message_id="m-1", phone="+8613800000001", state=DeliveryState.PENDING)
    delivery_apply(account=account, records=[record])
    delivery_apply(account=account, records=[DeliveryRecord("m-1", "+8613800000001", DeliveryState.FAILED, "E1")])
    receipt = DeliveryReceipt.objects.get(account=account)
    assert (receipt.state, receipt.error_code) == ("failed", "E1")


def test_rows_without_a_message_id_match_the_message_of_that_phone_sent_at_that_time():
    account = make_account()
    sent = timezone.now() - timedelta(hours=2)
    earlier = make_message(account, phone="+8613900000001", sent_at=sent - timedelta(minutes=30), template_code="SMS_1")
    later = make_message(account, phone="+8613900000001", sent_at=sent, template_code="SMS_1")
    row = DeliveryRecord(
        message_id="",
        phone="+8613900000001",
        state=DeliveryState.FAILED,
        error_code="MK:0001",
        sent_at=sent + timedelta(seconds=2),
        template_code="SMS_1",
    )
    delivery_apply(account=account, records=[row])
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (earlier.delivery_status, later.delivery_status) == ("pending", "failed")


def test_rows_are_matched_by_out_id_first():
    account = make_account()
    sent = timezone.now() - timedelta(hours=1)
    first = make_message(account, phone="+8613900000002", sent_at=sent, out_id="login-1")
    second = make_message(account, phone="+8613900000002", sent_at=sent + timedelta(seconds=5), out_id="login-2")
    row = DeliveryRecord("", "+8613900000002", DeliveryState.DELIVERED, "DELIVERED", sent_at=sent, out_id="login-2")
    delivery_apply(account=account, records=[row])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.delivery_status, second.delivery_status) == ("pending", "delivered")


@pytest.mark.parametrize(
    ("provider", "window_days"), [(Provider.ALIYUN, 30), (Provider.TENCENT, 7), (Provider.PLIVO, 90)]
)
def test_pending_messages_older_than_the_query_window_expire(provider, window_days):
    account = make_account(provider)
    zone = DAY_ZONES[provider]  # Alibaba files messages by China time
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # already the 24th in China
    first_day = datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone) - timedelta(days=window_days - 1)
    too_old = make_message(account, sent_at=first_day - timedelta(seconds=1))
    in_window = make_message(account, sent_at=first_day)
    delivered_old = make_message(account, sent_at=first_day - timedelta(days=2), delivery_status="delivered")
    assert delivery_expire_stale(account=account, now=now) == 1
    statuses = {m.pk: m.delivery_status for m in account.messages.all()}
    assert statuses == {too_old.pk: "expired", in_window.pk: "pending", delivered_old.pk: "delivered"}


def test_a_contradicting_receipt_is_ignored_and_logged_with_what_an_operator_searches_by(caplog):
    message = make_message()
    delivery_apply(account=message.account, records=[delivered(message)])
    with caplog.at_level("INFO", logger="apps.messaging.delivery.services"):
        delivery_apply(account=message.account, records=[delivered(message, state=DeliveryState.FAILED)])
    message.refresh_from_db()
    assert message.delivery_status == "delivered"
    account = message.account
    assert caplog.messages == [
        f"Ignored a failed receipt for {account.provider} message {message.provider_message_id} of account "
        f"{account.name} (id {account.pk}): already delivered (row {message.pk})"
    ]
