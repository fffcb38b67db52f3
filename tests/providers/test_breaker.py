"""The circuit breaker's one rule, as every worker sees it: each test runs on a real Redis (state
shared between processes; two CircuitBreaker objects stand for two workers) and inline (the demo's
process-local state)."""

from __future__ import annotations

import logging
import time

import pytest

from apps.providers import breaker as breakers
from apps.providers.breaker import CLOSED, HALF_OPEN, OPEN, Outcome, breaker_for, breaker_status, outcome_of
from apps.providers.clients.base import ErrorKind, ProviderError
from apps.providers.models import Provider

COOL_DOWN = 0.2
OUTAGE = ProviderError(ErrorKind.TRANSIENT, "Service Unavailable", code="503")
THROTTLED = ProviderError(ErrorKind.THROTTLED, "Too many requests", code="429")


@pytest.fixture(params=["redis", "inline"])
def shared_state(request, settings, db):
    settings.CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 5, "COOL_DOWN_SECONDS": COOL_DOWN}
    if request.param == "redis":
        request.getfixturevalue("jobs_on_redis")
    else:
        settings.JOBS_INLINE = True
        breakers._LocalStore.states.clear()
        breakers._LocalStore.transitions.clear()
    return request.param


@pytest.fixture
def account(shared_state, simulated_account):
    return simulated_account(Provider.TENCENT, name="Tencent login")


def fail(breaker, times: int = 1) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_call(OUTAGE)


def open_then_cool_down(breaker) -> None:
    fail(breaker, 5)
    assert breaker.state == OPEN
    time.sleep(COOL_DOWN + 0.05)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, Outcome.SUCCESS),
        (ProviderError(ErrorKind.AUTH, "bad key"), Outcome.SUCCESS),
        (ProviderError(ErrorKind.INVALID, "bad phone"), Outcome.SUCCESS),
        (ProviderError(ErrorKind.UNSUPPORTED, "no templates"), Outcome.SUCCESS),
        (OUTAGE, Outcome.FAILURE),
        (THROTTLED, Outcome.THROTTLED),
        (RuntimeError("a bug of ours"), Outcome.OWN_ERROR),
    ],
)
def test_each_ending_of_a_call_means_one_thing_to_the_breaker(error, outcome):
    assert outcome_of(error) == outcome


def test_a_success_between_failures_resets_the_count_every_worker_shares(account):
    mine, other = breaker_for(account), breaker_for(account)
    assert other.allow()  # the other worker saw a healthy breaker just before the failures began
    fail(mine, 4)
    other.record_call(None)
    fail(mine)
    assert (mine.snapshot().state, mine.snapshot().failures) == (CLOSED, 1)


def test_the_fifth_consecutive_failure_opens_it(account):
    mine, other = breaker_for(account), breaker_for(account)
    fail(mine, 2)
    fail(other, 2)
    assert mine.state == CLOSED
    fail(other)
    assert not mine.allow()


def test_throttled_answers_neither_count_nor_reset_the_failures(account):
    breaker = breaker_for(account)
    fail(breaker, 2)
    breaker.allow()
    breaker.record_call(THROTTLED)
    fail(breaker, 2)
    assert breaker.snapshot().failures == 4


def test_half_open_lets_one_probe_through_and_its_success_closes_it(account):
    prober, other = breaker_for(account), breaker_for(account)
    open_then_cool_down(prober)
    assert prober.allow()
    assert (prober.state, other.allow()) == (HALF_OPEN, False)
    prober.record_call(None)
    assert (prober.state, other.allow()) == (CLOSED, True)


def test_the_probes_failure_opens_it_again_for_a_new_cool_down(account):
    prober, other = breaker_for(account), breaker_for(account)
    open_then_cool_down(prober)
    assert prober.allow()
    prober.record_call(OUTAGE)
    assert (prober.state, other.allow()) == (OPEN, False)
    time.sleep(COOL_DOWN + 0.05)
    assert other.allow()


@pytest.mark.parametrize("ending", [THROTTLED, RuntimeError("a bug of ours")], ids=["throttled", "own-error"])
def test_a_probe_that_got_no_verdict_frees_the_slot_at_once(account, ending):
    prober, other = breaker_for(account), breaker_for(account)
    open_then_cool_down(prober)
    assert prober.allow()
    prober.record_call(ending)
    assert (prober.state, other.allow()) == (HALF_OPEN, True)


def test_a_late_failure_of_a_call_made_before_the_opening_does_not_take_the_probes_place(account):
    prober, late = breaker_for(account), breaker_for(account)
    assert late.allow()  # its call starts while the breaker is closed ...
    open_then_cool_down(prober)
    assert prober.allow()
    late.record_call(OUTAGE)  # ... and fails while the probe is out: the probe decides
    assert late.state == HALF_OPEN


def test_every_transition_is_logged_once_with_the_account_the_provider_and_the_reason(account, caplog):
    prober, other = breaker_for(account), breaker_for(account)
    with caplog.at_level(logging.INFO, logger="apps.providers.breaker"):
        open_then_cool_down(prober)
        assert prober.allow() and not other.allow()
        prober.record_call(OUTAGE)
        time.sleep(COOL_DOWN + 0.05)
        assert other.allow()
        other.record_call(None)
    prefix = f"circuit breaker of Tencent Cloud account {account.pk} (Tencent login): "
    cool_down = "open -> half_open: the 0.2 s cool-down ended: one probe goes through"
    assert [(r.levelname, r.getMessage().removeprefix(prefix)) for r in caplog.records] == [
        ("WARNING", "closed -> open: 5 consecutive failures, the last: transient: Service Unavailable [503]"),
        ("INFO", cool_down),
        ("WARNING", "half_open -> open: the probe failed: transient: Service Unavailable [503]"),
        ("INFO", cool_down),
        ("INFO", "half_open -> closed: the probe succeeded"),
    ]
    assert all(r.getMessage().startswith(prefix) for r in caplog.records)


def test_breaker_status_shows_the_state_and_the_last_transitions_newest_first(account):
    started = time.time()
    open_then_cool_down(breaker_for(account))
    assert breaker_for(account).allow()

    status = breaker_status(account)
    assert (status["state"], status["failures"], status["probe_in_flight"]) == (HALF_OPEN, 0, True)
    assert started <= status["opened_at"].timestamp() <= time.time()
    assert [(t["from"], t["to"]) for t in status["transitions"]] == [(OPEN, HALF_OPEN), (CLOSED, OPEN)]
    assert status["transitions"][1]["reason"].startswith("5 consecutive failures")
    assert status["transitions"][0]["at"] >= status["transitions"][1]["at"] == status["opened_at"]


def test_breaker_status_keeps_only_the_last_twenty_transitions(account):
    breaker = breaker_for(account)
    for _ in range(11):  # 22 transitions: closed -> open -> closed, eleven times
        fail(breaker, 5)
        breaker.reset()
    transitions = breaker_status(account.pk)["transitions"]
    assert len(transitions) == breakers.TRANSITIONS_KEPT == 20
    assert transitions[0]["reason"] == breakers.RESET_REASON


def test_breaker_status_still_says_when_it_last_opened_once_closed_again(account):
    breaker = breaker_for(account)
    open_then_cool_down(breaker)
    opened_at = breaker_status(account)["opened_at"]
    assert breaker.allow()
    breaker.record_call(None)
    status = breaker_status(account)
    assert (status["state"], status["opened_at"], status["open_until"]) == (CLOSED, opened_at, None)
