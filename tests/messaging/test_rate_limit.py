"""The per-account report rate limit, in Redis (shared by workers) and in process (inline demo)."""

from __future__ import annotations

import time

import pytest

from apps.providers import ratelimit
from apps.providers.models import Provider
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def calls_in_first_window(account, calls: int) -> tuple[int, float]:
    started = time.time()
    windows = [int(time.time()) for _ in range(calls) if ratelimit.acquire(account, "report") >= 0]
    return windows.count(windows[0]), time.time() - started


def test_inline_at_most_the_accounts_rate_per_second(settings):
    settings.JOBS_INLINE = True
    account = make_account(Provider.TENCENT, report_rate_limit=5)
    time.sleep(1 - time.time() % 1)  # start at the beginning of a window
    first, elapsed = calls_in_first_window(account, 7)
    assert first <= 5 and elapsed >= 0.5


@pytest.mark.redis
def test_in_redis_all_processes_share_the_accounts_rate(rq_redis):
    account = make_account(Provider.PLIVO, report_rate_limit=4)
    time.sleep(1 - time.time() % 1)
    rq_redis.set(f"smsdash:ratelimit:report:{account.pk}:{int(time.time())}", 2)  # another worker took two
    first, _ = calls_in_first_window(account, 4)
    assert first <= 2
    assert account.effective_report_rate == 4
    assert make_account(Provider.TENCENT).effective_report_rate == 1000  # Tencent's documented limit


@pytest.mark.redis
def test_slots_taken_in_a_block_count_against_the_same_rate(rq_redis):
    account = make_account(Provider.PLIVO, report_rate_limit=5)
    time.sleep(1 - time.time() % 1)
    window = int(time.time())
    assert ratelimit.acquire(account, "report", slots=3) < 0.5  # fits in this window
    waited = ratelimit.acquire(account, "report", slots=3)  # 6 > 5: waits for the next window
    assert int(time.time()) > window and waited > 0
    assert ratelimit.acquire(account, "report", slots=50) >= 0  # more than the rate: capped to it, not refused forever
