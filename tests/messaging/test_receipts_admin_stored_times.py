"""The delivery receipts admin keeps working beside times smsdash cannot use (year 1 stored as 1 BC,
1900, 9999), in the message a receipt was matched to or in the receipt itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.messaging.admin_times import OUTSIDE_WINDOW
from apps.messaging.models import DeliveryReceipt
from tests.factories import make_account, make_message
from tests.messaging.out_of_range import BAD_TIMES, store_receipt_time, store_sent_at, stored_text

pytestmark = pytest.mark.django_db

GOOD_TIME = datetime(2026, 11, 20, 9, 10, tzinfo=UTC)
CHANGELIST = "admin:messaging_deliveryreceipt_changelist"


def outside(name: str) -> str:
    return OUTSIDE_WINDOW.format(stored=stored_text(name), earliest="2000-01-01", latest="3000-01-01")


def receipt(account, key: str, message=None) -> DeliveryReceipt:
    return DeliveryReceipt.objects.create(
        account=account,
        provider_message_id=key,
        fingerprint=f"id:{key}",
        state="delivered",
        source="webhook",
        sent_at=GOOD_TIME,
        received_at=GOOD_TIME,
        message=message,
        matched_at=timezone.now() if message else None,
    )


@pytest.fixture
def matched():
    """Per bad time a receipt matched to a message sent then, beside a good pair."""
    account = make_account()
    rows = {"good": receipt(account, "good", make_message(account, provider_message_id="good", sent_at=GOOD_TIME))}
    for name in BAD_TIMES:
        message = make_message(account, provider_message_id=f"sent {name}", sent_at=GOOD_TIME)
        store_sent_at(message, name)
        rows[name] = receipt(account, f"receipt {name}", message)
    return rows


def test_the_receipts_list_names_every_matched_message(admin_client, matched):
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 4
    html = response.content.decode()
    for name in BAD_TIMES:
        assert f"sent {name} →" in html  # the message, by its name


@pytest.mark.parametrize("name", list(BAD_TIMES))
def test_a_receipt_matched_to_a_message_sent_then_opens(admin_client, matched, name):
    response = admin_client.get(reverse("admin:messaging_deliveryreceipt_change", args=[matched[name].pk]))
    assert response.status_code == 200
    assert f"sent {name} →" in response.content.decode()


@pytest.mark.parametrize("column", ["sent_at", "received_at"])
def test_the_receipts_list_shows_the_stored_text_of_a_receipts_unusable_time(admin_client, column):
    account = make_account()
    receipt(account, "good")
    for name in BAD_TIMES:
        store_receipt_time(receipt(account, f"receipt {name}"), column, name)
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 4
    html = response.content.decode()
    for name in BAD_TIMES:
        assert outside(name) in html


@pytest.mark.parametrize("name", list(BAD_TIMES))
def test_a_receipt_with_an_unusable_time_opens_and_shows_it(admin_client, name):
    kept = receipt(make_account(), "kept")
    store_receipt_time(kept, "sent_at", name)
    response = admin_client.get(reverse("admin:messaging_deliveryreceipt_change", args=[kept.pk]))
    assert response.status_code == 200
    assert outside(name) in response.content.decode()
