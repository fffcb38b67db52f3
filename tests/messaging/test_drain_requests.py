"""The per-process drain requester: one request per account per round, nothing dropped."""

from __future__ import annotations

import threading

from apps.messaging.drain_requests import DrainRequester


def test_many_conversions_of_one_account_ask_for_few_drains_and_every_account_is_asked():
    sent: list[int] = []
    first_round_started, release = threading.Event(), threading.Event()

    def send(account_id: int) -> None:
        sent.append(account_id)
        first_round_started.set()
        release.wait(5)

    requester = DrainRequester(send, interval=0.001)
    requester.request(1)
    assert first_round_started.wait(5)
    for _ in range(500):  # arrive while the first round talks to Redis
        requester.request(1)
        requester.request(2)
    release.set()
    assert requester.flush()
    assert sorted(sent) == [1, 1, 2]  # 1001 conversions of account 1, 500 of account 2: three requests


def test_a_failing_request_is_logged_and_the_next_ones_still_go_out(caplog):
    sent: list[int] = []

    def send(account_id: int) -> None:
        if account_id == 1:
            raise ConnectionError("Redis is away")
        sent.append(account_id)

    requester = DrainRequester(send, interval=0.001)
    requester.request(1)
    assert requester.flush()
    requester.request(2)
    assert requester.flush()
    assert sent == [2]
    assert "could not request a report drain for account 1" in caplog.text


def test_flush_reports_a_round_that_does_not_finish_in_time():
    release = threading.Event()
    requester = DrainRequester(lambda account_id: release.wait(5), interval=0.001)
    requester.request(1)
    assert requester.flush(timeout=0.05) is False
    release.set()
    assert requester.flush()
