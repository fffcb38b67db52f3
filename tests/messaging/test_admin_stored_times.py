"""The sent-messages and conversions admin keep working beside rows whose times smsdash cannot use
(year 1 stored as 1 BC, 1900, 9999): every row is listed, an unusable time is shown as the
database's text, and its change page asks for a correct time instead of failing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.messaging.admin_times import OUTSIDE_WINDOW
from apps.messaging.models import SentMessage
from tests.factories import make_account, make_conversion, make_message
from tests.messaging.out_of_range import BAD_TIMES, store_converted_at, store_received_at, store_sent_at, stored_text

pytestmark = pytest.mark.django_db

GOOD_TIME = datetime(2026, 11, 20, 9, 10, tzinfo=UTC)


def outside(name: str) -> str:
    return OUTSIDE_WINDOW.format(stored=stored_text(name), earliest="2000-01-01", latest="3000-01-01")


@pytest.fixture
def rows():
    """A good message with its conversion; per bad time a message (sent then) with a conversion, and
    a good message whose conversion was made then."""
    account = make_account()
    good = make_message(account, provider_message_id="good", sent_at=GOOD_TIME)
    rows = {"good": good, "good conversion": make_conversion(good)}
    for name in BAD_TIMES:
        message = make_message(account, provider_message_id=f"sent {name}", sent_at=GOOD_TIME)
        rows[f"conversion of message sent {name}"] = make_conversion(message)
        store_sent_at(message, name)
        rows[f"sent {name}"] = message
        conversion = make_conversion(make_message(account, provider_message_id=f"converted {name}", sent_at=GOOD_TIME))
        store_converted_at(conversion, name)
        rows[f"converted {name}"] = conversion
    return rows


def test_the_sent_messages_list_shows_every_row_and_the_stored_text_of_unusable_times(admin_client, rows):
    response = admin_client.get(reverse("admin:messaging_sentmessage_changelist"))
    assert response.status_code == 200
    assert [m.provider_message_id for m in response.context["cl"].result_list].count("good") == 1
    assert response.context["cl"].result_count == SentMessage.objects.count() == 7
    html = response.content.decode()
    for name in BAD_TIMES:
        assert outside(name) in html


def test_the_conversions_list_shows_every_row_and_the_stored_text_of_unusable_times(admin_client, rows):
    response = admin_client.get(reverse("admin:messaging_conversion_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 7
    html = response.content.decode()
    for name in BAD_TIMES:
        assert outside(name) in html


@pytest.mark.parametrize("model", ["sentmessage", "conversion"])
def test_the_date_hierarchy_offers_the_usable_dates(admin_client, rows, model):
    field = "sent_at" if model == "sentmessage" else "converted_at"
    response = admin_client.get(reverse(f"admin:messaging_{model}_changelist"))
    assert f"{field}__year=2026" in response.content.decode()
    drilled = admin_client.get(reverse(f"admin:messaging_{model}_changelist"), {f"{field}__year": "2026"})
    assert drilled.status_code == 200 and drilled.context["cl"].result_count == 4


@pytest.mark.parametrize("name", list(BAD_TIMES))
def test_the_change_page_of_a_message_sent_then_shows_the_stored_time_and_asks_for_one(admin_client, rows, name):
    message = rows[f"sent {name}"]
    response = admin_client.get(reverse("admin:messaging_sentmessage_change", args=[message.pk]))
    assert response.status_code == 200
    assert outside(name) in response.content.decode()
    assert response.context["adminform"].form.initial["sent_at"] is None


@pytest.mark.parametrize("name", list(BAD_TIMES))
def test_the_change_page_of_a_conversion_made_then_shows_the_stored_time(admin_client, rows, name):
    conversion = rows[f"converted {name}"]
    response = admin_client.get(reverse("admin:messaging_conversion_change", args=[conversion.pk]))
    assert response.status_code == 200
    assert outside(name) in response.content.decode()


def test_the_change_page_of_a_conversion_of_a_message_sent_in_1_bc_loads(admin_client, rows):
    conversion = rows["conversion of message sent year 1 at +01:00"]
    response = admin_client.get(reverse("admin:messaging_conversion_change", args=[conversion.pk]))
    assert response.status_code == 200
    assert "sent year 1 at +01:00" in response.content.decode()  # the message's label beside its raw id


def test_a_correct_time_entered_on_the_change_page_is_saved(admin_client, rows):
    message = rows["sent year 1 at +01:00"]
    url = reverse("admin:messaging_sentmessage_change", args=[message.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None and key in form.fields}
    data.update(account=message.account_id, sent_at_0="2026-11-20", sent_at_1="10:00:00", trackable="on")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert SentMessage.objects.get(pk=message.pk).sent_at == datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture
def received():
    """Per bad time a message with a conversion, received by the handset then."""
    rows = {}
    for name in BAD_TIMES:
        message = make_message(provider_message_id=f"received {name}", sent_at=GOOD_TIME)
        make_conversion(message)
        store_received_at(message, name)
        rows[name] = message
    return rows


@pytest.mark.parametrize("model", ["sentmessage", "conversion"])
def test_the_lists_keep_every_message_received_at_an_unusable_time(admin_client, received, model):
    response = admin_client.get(reverse(f"admin:messaging_{model}_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 3


@pytest.mark.parametrize("name", list(BAD_TIMES))
def test_the_change_page_of_a_message_received_then_shows_the_stored_time(admin_client, received, name):
    response = admin_client.get(reverse("admin:messaging_sentmessage_change", args=[received[name].pk]))
    assert response.status_code == 200
    assert f"received_at: {outside(name)}" in response.content.decode()


def test_saving_a_message_received_at_an_unusable_time_keeps_that_time(admin_client, received):
    message = received["year 1900"]
    url = reverse("admin:messaging_sentmessage_change", args=[message.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None and key in form.fields}
    data.update(account=message.account_id, sent_at_0="2026-11-20", sent_at_1="09:10:00", content="edited")
    assert admin_client.post(url, data).status_code == 302
    saved = SentMessage.objects.get(pk=message.pk)
    assert (saved.content, saved.received_at) == ("edited", datetime(1900, 1, 1, tzinfo=UTC))
