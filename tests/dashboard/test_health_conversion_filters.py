"""The conversions changelist shows possible repeats in a column and filters them, and filters
the rows held by a worker that died: the health panel's figures link here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.messaging.models import Conversion
from tests.conftest import PASSWORD
from tests.factories import make_conversion, make_message

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:messaging_conversion_changelist"


def listed(client, query: str) -> str:
    response = client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def conversions():
    once = make_conversion(make_message(provider_message_id="reported-once"))
    twice = make_conversion(make_message(provider_message_id="maybe-twice"))
    Conversion.objects.filter(pk=twice.pk).update(repeat_reports=2)
    return once, twice


def test_the_changelist_has_a_possible_repeats_column(client, root, conversions):
    client.login(username="root", password=PASSWORD)
    page = listed(client, "")
    assert "Possible repeats" in page
    assert 'class="field-possible_repeats">2</td>' in page


def test_the_possible_repeat_filter_lists_only_the_conversions_that_may_have_been_reported_twice(
    client, root, conversions
):
    client.login(username="root", password=PASSWORD)
    page = listed(client, "?possible_repeat=yes")
    assert "maybe-twice" in page and "reported-once" not in page
    page = listed(client, "?possible_repeat=no")
    assert "reported-once" in page and "maybe-twice" not in page


def test_the_claim_filter_lists_rows_held_by_a_dead_worker_apart_from_a_live_one(client, root, settings):
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "CLAIM_TIMEOUT_SECONDS": 30}
    dead = make_conversion(make_message(provider_message_id="held-by-the-dead"))
    live = make_conversion(make_message(provider_message_id="held-by-the-living"))
    now = timezone.now()
    Conversion.objects.filter(pk=dead.pk).update(claim_token="a" * 32, claimed_at=now - timedelta(seconds=31))
    Conversion.objects.filter(pk=live.pk).update(claim_token="b" * 32, claimed_at=now - timedelta(seconds=5))
    client.login(username="root", password=PASSWORD)
    page = listed(client, "?claim=lapsed")
    assert "held-by-the-dead" in page and "held-by-the-living" not in page
    page = listed(client, "?claim=held")
    assert "held-by-the-living" in page and "held-by-the-dead" not in page
