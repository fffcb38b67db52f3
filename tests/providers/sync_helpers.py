"""Shared set-up for the sync tests: messages known to both smsdash and the simulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from apps.providers.breaker import breaker_for
from apps.providers.models import Provider
from tests import services
from tests.factories import make_message

CHINA = timezone(timedelta(hours=8))


def a_day_ago_10am(provider: str) -> datetime:
    """10:00 two days ago on the provider's calendar: well inside every query window, one send date."""
    zone = CHINA if provider == Provider.ALIYUN else UTC
    day = (datetime.now(UTC) - timedelta(days=2)).astimezone(zone).date()
    return datetime.combine(day, time(10, 0), tzinfo=zone)


def new_id(provider: str, n: int) -> str:
    if provider == Provider.ALIYUN:
        return f"{900000000000000 + n}^0"
    if provider == Provider.TENCENT:
        return f"2640:{10**29 + n}"
    return str(uuid.uuid4())


def seed(
    simulator, account, *, phone: str, count: int, start=None, delivery="delivered", known=True, first=0, **fields
):
    """count messages to phone, one a minute from start: at the simulator, and (known) in smsdash.
    first: the number of the first message (ids differ from an earlier seed of the same phone)."""
    start = start or a_day_ago_10am(account.provider)
    messages = []
    for i in range(first, first + count):
        sent_at = start + timedelta(minutes=i - first)
        message_id = new_id(account.provider, abs(hash((phone, i, account.pk))) % 10**9)
        simulator.add_message(account.provider, message_id, phone, sent_at, delivery=delivery, **fields)
        if known:
            messages.append(make_message(account, provider_message_id=message_id, phone=phone, sent_at=sent_at))
    return messages


def fresh_breaker(account):
    breaker_for(account).reset()
    return account


@pytest.fixture(params=["redis", "database"])
def lock_backend(request, settings):
    """Run the test with the Redis lock (REDIS_URL set) and with the inline fallback (no Redis)."""
    if request.param == "redis":
        request.getfixturevalue("redis_connection")
        settings.REDIS_URL = services.test_redis_url()
        settings.JOBS_INLINE = False
    else:
        settings.REDIS_URL = ""
        settings.JOBS_INLINE = True
    return request.param


@pytest.fixture
def fast_backoff(monkeypatch):
    from apps.providers.sync import engine

    monkeypatch.setattr(engine, "BACKOFF_SECONDS", 0.05)


def calls(simulator, provider: str, operation: str) -> int:
    return simulator.stats()["requests"].get(provider, {}).get(operation, 0)


@pytest.fixture
def rq_sync(jobs_on_redis):
    """Jobs go to a real Redis (the test database of it) and the lock lives there, as with REDIS_URL set."""
    return jobs_on_redis


@pytest.fixture
def isolated_redis(request, settings):
    """With REDIS_URL set (CI's second run), keep the locks and breakers of these tests in the test
    Redis database (flushed around each test), never in the application's."""
    if settings.REDIS_URL:
        request.getfixturevalue("jobs_on_redis")
