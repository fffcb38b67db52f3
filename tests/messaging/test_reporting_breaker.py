"""Reporting and the sync engine feed one breaker rule: a probe that got no verdict (throttled, or
an error of our own) hands the slot on at once, and a throttled answer is neither a success nor a
failure for either caller. Inline (breaker state in this process), against the simulator."""

from __future__ import annotations

import time

import pytest

from apps.messaging import jobs
from apps.providers import breaker as breakers
from apps.providers import ratelimit
from apps.providers.breaker import CLOSED, OPEN, breaker_for
from apps.providers.clients.base import ErrorKind, ProviderError
from apps.providers.clients.tencent import TencentClient
from apps.providers.models import Provider, SyncKind
from apps.providers.sync import engine
from apps.providers.sync.engine import sync_execute
from tests.messaging.reporting_helpers import convert, sent_messages, simulator_counts
from tests.providers.sync_helpers import seed

pytestmark = pytest.mark.django_db

COOL_DOWN = 0.3


@pytest.fixture(autouse=True)
def inline_jobs(settings, monkeypatch):
    settings.JOBS_INLINE = True
    settings.CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 3, "COOL_DOWN_SECONDS": COOL_DOWN}
    # One thread: report threads have their own connections, which cannot see this test's transaction.
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "RETRY_BASE_SECONDS": 0.1, "THREADS": 1}
    monkeypatch.setattr(ratelimit, "THROTTLE_PAUSE_SECONDS", 0.1)
    monkeypatch.setattr(engine, "BACKOFF_SECONDS", 0.01)
    breakers._LocalStore.states.clear()
    breakers._LocalStore.transitions.clear()
    ratelimit._local_pauses.clear()


def report(conversions) -> dict:
    return jobs.report_conversions(conversions[0].message.account_id, [c.pk for c in conversions])


def open_the_breaker(simulator, account, conversions) -> None:
    """An outage: the threshold's failures open the breaker; then its cool-down passes."""
    simulator.set_faults(provider="tencent", outage=True)
    report(conversions)
    assert breaker_for(account).state == OPEN
    time.sleep(COOL_DOWN + 0.05)


def test_after_a_throttled_probe_the_next_report_goes_through_once_the_provider_is_back(simulator, simulated_account):
    account = simulated_account(Provider.TENCENT)
    conversions = convert(sent_messages(simulator, account, 5))
    open_the_breaker(simulator, account, conversions[:3])
    simulator.set_faults(provider="tencent", throttle=True)
    assert report([conversions[3]])["retries"] == 1  # the probe: throttled
    simulator.clear_faults()  # the provider is back
    assert report([conversions[4]])["reported"] == 1
    assert breaker_for(account).state == CLOSED


def test_after_a_probe_that_failed_on_our_side_the_next_report_goes_through(simulator, simulated_account, monkeypatch):
    account = simulated_account(Provider.TENCENT)
    conversions = convert(sent_messages(simulator, account, 5))
    open_the_breaker(simulator, account, conversions[:3])
    simulator.clear_faults()
    real = TencentClient.report_conversion
    calls = iter([RuntimeError("a bug of ours")])

    def first_call_breaks(self, report):
        if (error := next(calls, None)) is not None:
            raise error
        return real(self, report)

    monkeypatch.setattr(TencentClient, "report_conversion", first_call_breaks)
    assert report([conversions[3]])["retries"] == 1  # the probe never reached the provider
    assert report([conversions[4]])["reported"] == 1
    assert simulator_counts(simulator, conversions[3:]) == [0, 1]


@pytest.mark.parametrize("caller", ["reporting", "sync"])
def test_a_throttled_answer_neither_counts_nor_resets_the_failures_whoever_called(caller, simulator, simulated_account):
    account = simulated_account(Provider.TENCENT)
    breaker = breaker_for(account)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_call(ProviderError(ErrorKind.TRANSIENT, "Service Unavailable"))
    simulator.set_faults(provider="tencent", throttle=True)
    if caller == "reporting":
        assert report(convert(sent_messages(simulator, account, 1)))["retries"] == 1
    else:
        seed(simulator, account, phone="+8613900000001", count=1)
        assert sync_execute(account=account, kind=SyncKind.DELIVERY).errors == engine.MAX_ATTEMPTS - 1
    assert breaker_for(account).snapshot().failures == 2
