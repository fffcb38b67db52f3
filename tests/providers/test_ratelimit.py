"""The rate limit backs off when a provider throttles: every worker calling with that key waits out
the pause, on a real Redis (shared by workers) and inline (one process)."""

from __future__ import annotations

import pytest

from apps.providers import ratelimit
from apps.providers.models import Provider

PAUSE = 0.3


@pytest.fixture(params=["redis", "inline"])
def account(request, settings, simulated_account):
    if request.param == "redis":
        request.getfixturevalue("jobs_on_redis")
    else:
        settings.JOBS_INLINE = True
        ratelimit._local_pauses.clear()
    return simulated_account(Provider.TENCENT)


def test_after_a_throttled_answer_the_next_call_with_that_key_waits_out_the_pause(account):
    ratelimit.back_off(account, "report", PAUSE)
    assert ratelimit.acquire(account, "report") >= PAUSE - 0.05


def test_a_pause_holds_back_only_its_own_key(account):
    ratelimit.back_off(account, "report", PAUSE)
    assert ratelimit.acquire(account, "sync-delivery", rate=20) < PAUSE


def test_a_shorter_pause_does_not_cut_a_longer_one_short(account):
    ratelimit.back_off(account, "report", PAUSE)
    ratelimit.back_off(account, "report", 0.01)
    assert ratelimit.acquire(account, "report") >= PAUSE - 0.05
