"""Deleting a sent message or conversion whose stored time smsdash cannot use (year 1 stored as 1 BC,
1900, 9999): the confirmation page lists what goes with it, and confirming deletes it, from the
delete page and from the "Delete selected" action alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from apps.messaging.models import Conversion, SentMessage
from tests.factories import make_account, make_conversion, make_message
from tests.messaging.out_of_range import BAD_TIMES, store_converted_at, store_sent_at

pytestmark = pytest.mark.django_db

GOOD_TIME = datetime(2026, 11, 20, 9, 10, tzinfo=UTC)


def message_with_conversion(where: str, name: str) -> SentMessage:
    """A message with its conversion, the bad time stored in the message ("sent") or the conversion."""
    message = make_message(make_account(), provider_message_id=f"{where} {name}", sent_at=GOOD_TIME)
    conversion = make_conversion(message)
    if where == "sent":
        store_sent_at(message, name)
    else:
        store_converted_at(conversion, name)
    return message


CASES = [(where, name) for where in ("sent", "converted") for name in BAD_TIMES]


@pytest.mark.parametrize("where,name", CASES)
def test_the_delete_page_of_a_message_lists_its_conversion(admin_client, where, name):
    message = message_with_conversion(where, name)
    response = admin_client.get(reverse("admin:messaging_sentmessage_delete", args=[message.pk]))
    assert response.status_code == 200
    assert f"{where} {name}: Converted" in response.content.decode()  # the conversion, by its name


@pytest.mark.parametrize("where,name", CASES)
def test_confirming_the_delete_page_deletes_the_message_and_its_conversion(admin_client, where, name):
    message = message_with_conversion(where, name)
    response = admin_client.post(reverse("admin:messaging_sentmessage_delete", args=[message.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not SentMessage.objects.filter(pk=message.pk).exists()
    assert not Conversion.objects.filter(message_id=message.pk).exists()


@pytest.mark.parametrize("where,name", CASES)
def test_delete_selected_messages_asks_then_deletes(admin_client, where, name):
    message = message_with_conversion(where, name)
    kept = make_message(provider_message_id="kept", sent_at=GOOD_TIME)
    url = reverse("admin:messaging_sentmessage_changelist")
    chosen = {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [message.pk]}
    asked = admin_client.post(url, chosen)
    assert asked.status_code == 200
    assert f"{where} {name}: Converted" in asked.content.decode()
    done = admin_client.post(url, {**chosen, "post": "yes"})
    assert done.status_code == 302
    assert list(SentMessage.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Conversion.objects.exists()


@pytest.mark.parametrize("where,name", CASES)
def test_a_conversion_is_deleted_from_its_delete_page(admin_client, where, name):
    conversion = message_with_conversion(where, name).conversion
    url = reverse("admin:messaging_conversion_delete", args=[conversion.pk])
    asked = admin_client.get(url)
    assert asked.status_code == 200
    assert f"{where} {name}: Converted" in asked.content.decode()
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Conversion.objects.filter(pk=conversion.pk).exists()


@pytest.mark.parametrize("where,name", CASES)
def test_delete_selected_conversions_asks_then_deletes(admin_client, where, name):
    conversion = message_with_conversion(where, name).conversion
    url = reverse("admin:messaging_conversion_changelist")
    chosen = {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [conversion.pk]}
    asked = admin_client.post(url, chosen)
    assert asked.status_code == 200
    assert f"{where} {name}: Converted" in asked.content.decode()
    assert admin_client.post(url, {**chosen, "post": "yes"}).status_code == 302
    assert not Conversion.objects.exists()


def test_the_delete_page_of_an_account_names_its_message_as_protecting_it(admin_client):
    message = message_with_conversion("sent", "year 1 at +01:00")
    response = admin_client.get(reverse("admin:providers_provideraccount_delete", args=[message.account_id]))
    assert response.status_code == 200
    assert "sent year 1 at +01:00" in response.content.decode()
