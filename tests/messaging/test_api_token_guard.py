"""Guessing API tokens: after API_BAD_TOKEN_LIMIT invalid tokens one address gets 429 with
Retry-After, while a valid token is never refused; with Redis the count is shared by processes."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from apps.messaging.api import auth
from apps.messaging.models import SentMessage
from tests import services

pytestmark = pytest.mark.django_db

SCANNER = "203.0.113.9"
MESSAGE = {"message_id": "uuid-guard-1", "phone": "+447700900001", "sent_at": "2026-11-23T08:00:00Z"}
ROOT = Path(__file__).resolve().parents[2]


def random_token_request(client: Client, address: str = SCANNER):
    raw = "smsd_" + secrets.token_urlsafe(32)
    return client.get("/api/v1/stats", HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR=address)


def test_three_hundred_random_tokens_get_429_after_the_limit(client, settings):
    responses = [random_token_request(client) for _ in range(300)]
    limit = settings.API_BAD_TOKEN_LIMIT

    assert [r.status_code for r in responses] == [401] * limit + [429] * (300 - limit)
    refused = responses[-1]
    seconds = int(refused["Retry-After"])
    assert 0 < seconds <= settings.API_BAD_TOKEN_BLOCK_SECONDS
    assert refused.json()["error"] == auth.TOO_MANY_BAD_TOKENS.format(seconds=seconds)


def test_a_valid_token_from_the_blocked_address_still_reads_and_writes(client, api, settings):
    for _ in range(settings.API_BAD_TOKEN_LIMIT + 5):
        random_token_request(client, address="127.0.0.1")
    assert random_token_request(client, address="127.0.0.1").status_code == 429

    written = api.post("messages", MESSAGE)
    read = api.get("stats")

    assert (written.status_code, read.status_code) == (201, 200)
    assert SentMessage.objects.filter(provider_message_id="uuid-guard-1").exists()


def test_the_block_ends_after_the_block_seconds(client, settings, monkeypatch):
    for _ in range(settings.API_BAD_TOKEN_LIMIT):
        random_token_request(client)
    assert random_token_request(client).status_code == 429
    later = time.time() + settings.API_BAD_TOKEN_BLOCK_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)  # the cache's expiry and the guard read this clock

    assert random_token_request(client).status_code == 401


def test_another_address_is_not_blocked(client, settings):
    for _ in range(settings.API_BAD_TOKEN_LIMIT):
        random_token_request(client)

    assert random_token_request(client, address="198.51.100.30").status_code == 401


def test_a_missing_token_is_not_counted_as_a_guess(client, settings):
    for _ in range(settings.API_BAD_TOKEN_LIMIT + 5):
        client.get("/api/v1/stats", REMOTE_ADDR=SCANNER)

    assert random_token_request(client).status_code == 401


@pytest.mark.redis
def test_with_redis_another_process_sees_the_address_blocked(client, settings, redis_connection):
    url = services.test_redis_url()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    for _ in range(settings.API_BAD_TOKEN_LIMIT):
        random_token_request(client)

    other = subprocess.run(
        [sys.executable, "-c", CHECK_IN_ANOTHER_PROCESS, SCANNER],
        env={**os.environ, "REDIS_URL": url, "DJANGO_SETTINGS_MODULE": "smsdash.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert 0 < int(other.stdout.strip()) <= settings.API_BAD_TOKEN_BLOCK_SECONDS


CHECK_IN_ANOTHER_PROCESS = """
import sys, django
django.setup()
from apps.messaging.api import token_guard
print(token_guard.blocked_for(sys.argv[1]))
"""
