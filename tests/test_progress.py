"""The progress-waiting helper: a hang still fails, a slow but steady worker does not."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.progress import countdown, wait_for_exit, wait_for_progress


class FakeTime:
    """A clock that advances only when the helper sleeps: the tests take no wall time."""

    def __init__(self):
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_measure_that_never_moves_fails_after_the_stall_period_naming_what_and_the_last_value():
    fake = FakeTime()
    with pytest.raises(AssertionError) as caught:
        wait_for_progress(
            lambda: 37, lambda n: n == 1000, what="conversions reported", stall_seconds=30,
            clock=fake.clock, sleep=fake.sleep,
        )  # fmt: skip
    assert str(caught.value) == "conversions reported made no progress for 30 s; last value: 37"
    assert 30 <= fake.now < 30.2


def test_a_measure_that_moves_slowly_but_steadily_passes_long_after_the_stall_period():
    fake = FakeTime()
    # One more row every 25 s, 1,000 rows: 25,000 s in all, each gap under the 30 s stall period.
    value = wait_for_progress(
        lambda: int(fake.now // 25), lambda n: n == 1000, what="rows", stall_seconds=30,
        clock=fake.clock, sleep=fake.sleep,
    )  # fmt: skip
    assert value == 1000 and fake.now >= 25_000


def test_a_measure_that_stops_moving_partway_fails_one_stall_period_after_its_last_move():
    fake = FakeTime()
    with pytest.raises(AssertionError, match="last value: 40"):
        wait_for_progress(
            lambda: min(int(fake.now), 40), lambda n: n == 100, what="jobs", stall_seconds=5,
            clock=fake.clock, sleep=fake.sleep,
        )  # fmt: skip
    assert 45 <= fake.now < 45.2


def test_a_measure_going_round_in_a_loop_stalls_like_a_frozen_one():
    fake = FakeTime()
    # A breaker that opens, cools down and probes forever: the same few values, again and again.
    with pytest.raises(AssertionError, match="the breaker made no progress for 5 s"):
        wait_for_progress(
            lambda: ("open", int(fake.now) % 3), lambda v: v[0] == "closed", what="the breaker", stall_seconds=5,
            clock=fake.clock, sleep=fake.sleep,
        )  # fmt: skip
    assert 7 <= fake.now < 7.2  # the last new value at 2 s, then 5 s of values seen before


def test_the_failure_carries_the_details_the_caller_gives():
    fake = FakeTime()
    with pytest.raises(AssertionError, match="worker log tail"):
        wait_for_progress(
            lambda: 0, bool, what="x", stall_seconds=1, details=lambda: "worker log tail",
            clock=fake.clock, sleep=fake.sleep,
        )  # fmt: skip


def test_each_step_runs_between_samples():
    fake, steps = FakeTime(), []
    assert wait_for_progress(lambda: len(steps), lambda n: n == 3, what="bursts", step=lambda: steps.append(1),
                             clock=fake.clock, sleep=fake.sleep) == 3  # fmt: skip


def test_on_the_real_clock_a_hang_fails_after_the_stall_period():
    started = time.monotonic()
    with pytest.raises(AssertionError, match="made no progress for 0.3 s"):
        wait_for_progress(lambda: 0, bool, what="a hung worker", stall_seconds=0.3, interval=0.05)
    assert time.monotonic() - started >= 0.3


def test_a_countdown_moves_until_due_and_reads_constant_beyond_the_horizon():
    assert [countdown(s, horizon=30) for s in (12.34, 0.05, -3)] == [12.3, 0.1, 0.0]
    assert countdown(3600, horizon=30) == countdown(3599, horizon=30) == 30  # an hour away: no progress
    assert countdown(None) is None


def test_a_process_that_sleeps_without_exiting_stalls_and_one_that_exits_is_waited_for():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(AssertionError, match="the sleeper made no progress"):
            wait_for_exit(sleeper, what="the sleeper", stall_seconds=1)
    finally:
        sleeper.kill()
        sleeper.wait()
    quick = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    assert wait_for_exit(quick, what="the quick one") == 3
