from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messaging.delivery.receipts import match_pending_receipts
from apps.messaging.delivery.services import delivery_apply
from apps.messaging.models import DeliveryReceipt
from apps.providers.clients.base import DeliveryRecord, DeliveryState
from tests.factories import make_account, make_message

pytestmark = pytest.mark.django_db


def test_a_receipt_that_came_before_its_message_is_applied_when_the_message_arrives():
    account = make_account()
    delivery_apply(account=account, records=[DeliveryRecord("early-1", "+8613800000009", DeliveryState.DELIVERED, "D")])
    message = make_message(account, provider_message_id="early-1", phone="+8613800000009")
    assert match_pending_receipts([message]) == 1
    message.refresh_from_db()
    receipt = DeliveryReceipt.objects.get()
    assert (message.delivery_status, message.error_code) == ("delivered", "D")
    assert (receipt.message, receipt.matched_at is not None) == (message, True)


def test_matching_twice_applies_once():
    account = make_account()
    delivery_apply(account=account, records=[DeliveryRecord("early-2", "+8613800000008", DeliveryState.FAILED, "E")])
    message = make_message(account, provider_message_id="early-2", phone="+8613800000008")
    match_pending_receipts([message])
    assert match_pending_receipts([message]) == 0


def test_a_query_row_without_id_is_matched_by_phone_and_send_time():
    account = make_account()
    sent = timezone.now() - timedelta(hours=3)
    row = DeliveryRecord(
        "", "+8613800000007", DeliveryState.DELIVERED, "DELIVERED", sent_at=sent, template_code="SMS_9"
    )
    delivery_apply(account=account, records=[row])
    other = make_message(account, phone="+8613800000006", sent_at=sent)
    message = make_message(account, phone="+8613800000007", sent_at=sent - timedelta(seconds=3), template_code="SMS_9")
    assert match_pending_receipts([other, message]) == 1
    message.refresh_from_db()
    other.refresh_from_db()
    assert (message.delivery_status, other.delivery_status) == ("delivered", "pending")


def test_receipts_of_another_account_are_not_matched():
    account, other_account = make_account(), make_account()
    delivery_apply(
        account=other_account, records=[DeliveryRecord("same-id", "+8613800000005", DeliveryState.DELIVERED)]
    )
    message = make_message(account, provider_message_id="same-id", phone="+8613800000005")
    assert match_pending_receipts([message]) == 0
    message.refresh_from_db()
    assert message.delivery_status == "pending"
