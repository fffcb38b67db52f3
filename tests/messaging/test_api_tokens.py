"""API tokens: no token 401, another account's data 403, stored hashed, revocable, last use kept."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messaging.api import auth
from apps.messaging.models import ApiToken, SentMessage
from apps.messaging.services import api_token_create, api_token_revoke
from tests.factories import make_account, make_conversion, make_message
from tests.messaging.conftest import ApiClient

pytestmark = pytest.mark.django_db

MESSAGE = {"message_id": "uuid-1", "phone": "+447700900001", "sent_at": "2026-11-23T08:00:00Z"}


def test_without_a_token_every_endpoint_answers_401(client):
    anonymous = ApiClient(client, None)
    for response in (anonymous.post("messages", MESSAGE), anonymous.post("conversions", {}), anonymous.get("stats")):
        assert response.status_code == 401
        assert response.json()["errors"] == {"Authorization": auth.NO_TOKEN}
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert SentMessage.objects.count() == 0


def test_an_unknown_or_revoked_token_answers_401(client, account):
    token, raw = api_token_create(account=account, name="old")
    api_token_revoke(token=token)
    for value in (raw, "smsd_not-a-token", "garbage"):
        response = ApiClient(client, value).post("messages", MESSAGE)
        assert response.status_code == 401
        assert response.json()["error"] == auth.BAD_TOKEN


def test_only_the_hash_of_a_token_is_stored(account):
    token, raw = api_token_create(account=account, name="login service")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {str(value) for value in ApiToken.objects.values().get().values()}
    assert raw not in repr(stored) and raw not in str(stored)


def test_a_request_records_when_the_token_was_last_used(api, account):
    assert ApiToken.objects.get().last_used_at is None
    api.get("stats")
    assert timezone.now() - ApiToken.objects.get().last_used_at < timedelta(seconds=5)


def test_a_token_cannot_write_or_read_another_accounts_data(api, account):
    other = make_account("tencent")
    make_message(other, provider_message_id="theirs", phone="+8613800000001")
    as_other = {**MESSAGE, "account": other.pk}
    write = api.post("messages", as_other)
    read = api.get("stats", {"account": other.pk})
    assert (write.status_code, read.status_code) == (403, 403)
    assert write.json()["error"] == auth.WRONG_ACCOUNT.format(account=other.pk)
    assert SentMessage.objects.filter(account=account).count() == 0
    # Another account's message id is simply unknown to this token: nothing about it leaks.
    conversion = api.post("conversions", {"message_id": "theirs", "status": "converted"})
    assert conversion.status_code == 422
    assert list(conversion.json()["errors"]) == ["message_id"]


def test_naming_its_own_account_is_allowed(api, account):
    assert api.post("messages", {**MESSAGE, "account": account.pk}).status_code == 201
    assert api.get("stats", {"account": account.name}).status_code == 200


def test_stats_count_requested_verified_and_the_rate_per_country(api, account):
    now = timezone.now()
    for n, phone in enumerate(["+447700900001", "+447700900002", "+919800000001", "+919800000002"]):
        message = make_message(account, phone=phone, sent_at=now - timedelta(hours=2), template_code="OTP")
        if n != 3:
            make_conversion(message, status="converted" if n != 2 else "not_converted")
    make_message(make_account(), phone="+447700900009", sent_at=now - timedelta(hours=2))  # another account
    body = api.get("stats", {"group_by": "country"}).json()
    assert body["totals"] == {"requested": 4, "verified": 2, "conversion_rate": 0.5}
    assert body["groups"] == [
        {"country": "GB", "requested": 2, "verified": 2, "conversion_rate": 1.0},
        {"country": "IN", "requested": 2, "verified": 0, "conversion_rate": 0.0},
    ]
    narrow = api.get("stats", {"country": "IN", "start": (now - timedelta(hours=3)).isoformat()}).json()
    assert narrow["totals"] == {"requested": 2, "verified": 0, "conversion_rate": 0.0}
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    by_day = api.get("stats", {"start": (now - timedelta(days=2)).date().isoformat(), "end": tomorrow}).json()
    assert by_day["totals"]["requested"] == 4
    assert api.get("stats", {"start": (now - timedelta(minutes=30)).isoformat()}).json()["totals"]["requested"] == 0


def test_stats_refuse_a_bad_query_naming_the_parameter(api):
    response = api.get("stats", {"start": "last week", "group_by": "planet"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"start", "group_by"}


def test_a_token_revoked_after_use_is_refused_at_once(client, account):
    token, raw = api_token_create(account=account, name="soon revoked")
    api = ApiClient(client, raw)
    assert api.get("stats").status_code == 200  # now remembered by this process
    api_token_revoke(token=token)
    assert api.get("stats").status_code == 401
