"""Sync runs are safe to overlap, resumable, back off on throttling and stop at an open breaker:
against the simulator over HTTP, with the Redis lock and with the no-Redis fallback."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messaging.models import SentMessage
from apps.providers.models import Provider, SyncKind, SyncRun, SyncStatus
from apps.providers.sync import engine, locks, runs
from apps.providers.sync.engine import sync_execute
from tests.providers import sync_helpers
from tests.providers.sync_helpers import a_day_ago_10am, calls, fresh_breaker, seed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_redis")]

isolated_redis = sync_helpers.isolated_redis

lock_backend = sync_helpers.lock_backend
fast_backoff = sync_helpers.fast_backoff

PHONES = [f"+86139000000{i:02d}" for i in range(6)]


class Crash(BaseException):
    """What a killed worker looks like from inside: no except clause, no cleanup."""


def seed_six_phones(simulator, account, per_phone: int = 60):
    # 60 messages a phone = 2 pages each: 12 pages for 6 groups.
    return [m for phone in PHONES for m in seed(simulator, account, phone=phone, count=per_phone)]


def crash_before_call(monkeypatch, number: int):
    """The worker dies as it is about to make its number-th provider call: every page before it
    has committed, nothing after it happens in that thread."""
    real = engine.SyncContext.call
    made = {"calls": 0}
    lock = threading.Lock()

    def call_or_crash(self, operation, *args):
        with lock:
            made["calls"] += 1
            crash = made["calls"] == number
        if crash:
            raise Crash()
        return real(self, operation, *args)

    monkeypatch.setattr(engine.SyncContext, "call", call_or_crash)


def let_the_lock_expire(run):
    """What LOCK_TTL seconds without a heartbeat look like: the Redis key gone, the heartbeat old."""
    lock = locks.SyncLock(run.account_id, run.kind)
    if lock.shared:
        assert lock.connection.delete(lock.name)  # the crashed run still held it
    old = timezone.now() - timedelta(seconds=locks.LOCK_TTL + 1)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=old)


def delivery(account, **kwargs):
    return sync_execute(account=account, kind=SyncKind.DELIVERY, **kwargs)


def test_a_crashed_run_is_resumed_by_the_next_without_redoing_finished_pages(
    simulator, simulated_account, lock_backend, monkeypatch
):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    messages = seed_six_phones(simulator, account)
    crash_before_call(monkeypatch, 6)  # mid-way through the third group, after its first page
    with pytest.raises(Crash):
        delivery(account)
    crashed = SyncRun.objects.get()
    assert (crashed.status, crashed.pages_fetched) == (SyncStatus.RUNNING, 5)
    assert crashed.cursor["after"] == f"{crashed.cursor['after'][:10]}|{PHONES[1]}"  # two groups done
    assert [state["page"] for state in crashed.cursor["partial"].values()] == [1]  # the third: page 1 of 2
    assert delivery(account) is None  # its lock (or heartbeat) has not expired yet: no second run
    monkeypatch.undo()
    let_the_lock_expire(crashed)
    resumed = delivery(account)
    crashed.refresh_from_db()
    assert (resumed.status, resumed.resumed_from, resumed.pages_fetched) == (SyncStatus.SUCCEEDED, crashed, 7)
    assert crashed.status == SyncStatus.INTERRUPTED
    assert crashed.failure_reason == runs.INTERRUPTED_REASON.format(run=resumed.pk)
    assert calls(simulator, "aliyun", "QuerySendDetails") == 12  # every page exactly once
    assert set(SentMessage.objects.filter(account=account).values_list("delivery_status", flat=True)) == {"delivered"}
    assert len(messages) == 360


@pytest.mark.django_db(transaction=True)
def test_a_run_on_several_threads_resumes_after_a_crash_without_redoing_pages(
    simulator, simulated_account, monkeypatch, settings
):
    settings.SYNC_WORKERS = 3  # PostgreSQL: three threads; in-memory SQLite runs them in turn
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    seed_six_phones(simulator, account)
    crash_before_call(monkeypatch, 6)
    with pytest.raises(Crash):
        delivery(account)
    crashed = SyncRun.objects.get()
    monkeypatch.undo()
    let_the_lock_expire(crashed)
    resumed = delivery(account)
    crashed.refresh_from_db()
    assert (resumed.status, crashed.status) == (SyncStatus.SUCCEEDED, SyncStatus.INTERRUPTED)
    assert crashed.pages_fetched >= 5 and crashed.pages_fetched + resumed.pages_fetched == 12
    assert calls(simulator, "aliyun", "QuerySendDetails") == 12
    assert set(SentMessage.objects.filter(account=account).values_list("delivery_status", flat=True)) == {"delivered"}


def test_a_crashed_tencent_run_resumes_mid_phone_without_redoing_pulls(simulator, simulated_account, monkeypatch):
    account = fresh_breaker(simulated_account(Provider.TENCENT))
    start = a_day_ago_10am(Provider.TENCENT)
    for phone in PHONES[:3]:  # 50 a day on 3 days: 150 receipts a phone, two pulls of 100 each
        for back in range(3):
            seed(simulator, account, phone=phone, count=50, start=start - timedelta(days=back), first=back * 100)
    crash_before_call(monkeypatch, 4)  # the second phone's second pull
    with pytest.raises(Crash):
        delivery(account)
    crashed = SyncRun.objects.get()
    assert (crashed.pages_fetched, crashed.progress_total) == (3, 3)
    assert crashed.cursor["after"] == f"range|{PHONES[0]}"
    assert {key: state["page"] for key, state in crashed.cursor["partial"].items()} == {f"range|{PHONES[1]}": 1}
    monkeypatch.undo()
    let_the_lock_expire(crashed)
    resumed = delivery(account)
    assert (resumed.status, resumed.resumed_from, resumed.pages_fetched) == (SyncStatus.SUCCEEDED, crashed, 3)
    assert calls(simulator, "tencent", "PullSmsSendStatusByPhoneNumber") == 6  # every pull exactly once
    assert set(SentMessage.objects.filter(account=account).values_list("delivery_status", flat=True)) == {"delivered"}
    assert SentMessage.objects.filter(account=account).count() == 450


def test_a_second_run_of_the_same_kind_does_not_start_while_one_runs(
    simulator, simulated_account, lock_backend, monkeypatch
):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    seed(simulator, account, phone=PHONES[0], count=60)  # two pages
    real = runs.run_progress
    meanwhile = {}

    def start_others_during_the_first_page(run, **kwargs):
        real(run, **kwargs)
        if not meanwhile:
            meanwhile["delivery"] = delivery(account)
            meanwhile["templates"] = sync_execute(account=account, kind=SyncKind.TEMPLATES)

    monkeypatch.setattr(runs, "run_progress", start_others_during_the_first_page)
    first = delivery(account)
    assert meanwhile["delivery"] is None
    assert meanwhile["templates"].status == SyncStatus.SUCCEEDED  # another kind is not blocked
    assert (first.status, first.pages_fetched) == (SyncStatus.SUCCEEDED, 2)
    assert SyncRun.objects.filter(kind=SyncKind.DELIVERY).count() == 1
    assert delivery(account).status == SyncStatus.SUCCEEDED  # once it is over, the next one starts


def test_throttling_mid_run_backs_off_and_the_run_still_completes(
    simulator, simulated_account, fast_backoff, monkeypatch
):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    seed_six_phones(simulator, account)
    real = runs.run_progress
    done = {"pages": 0}

    def throttle_after_third_page(run, **kwargs):
        real(run, **kwargs)
        done["pages"] += 1
        if done["pages"] == 3:
            simulator.set_faults(provider="aliyun", throttle=True)
            threading.Timer(0.25, simulator.clear_faults).start()

    monkeypatch.setattr(runs, "run_progress", throttle_after_third_page)
    run = delivery(account)
    assert run.status == SyncStatus.SUCCEEDED, run.failure_reason
    assert run.errors >= 1 and run.pages_fetched == 12
    assert calls(simulator, "aliyun", "QuerySendDetails") == 12 + run.errors  # each throttled call retried
    assert set(SentMessage.objects.filter(account=account).values_list("delivery_status", flat=True)) == {"delivered"}


def test_a_run_that_stays_throttled_fails_in_words_and_the_next_resumes(simulator, simulated_account, fast_backoff):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    seed(simulator, account, phone=PHONES[0], count=1)
    simulator.set_faults(provider="aliyun", throttle=True)
    failed = delivery(account)
    assert failed.status == SyncStatus.FAILED
    assert failed.failure_reason.startswith("Alibaba Cloud kept throttling the requests after 6 tries: ")
    assert failed.errors == engine.MAX_ATTEMPTS - 1
    simulator.clear_faults()
    again = delivery(account)
    assert (again.status, again.items_updated) == (SyncStatus.SUCCEEDED, 1)


def test_wrong_credentials_fail_the_run_with_a_reason_an_operator_understands(simulator, simulated_account):
    account = fresh_breaker(simulated_account(Provider.TENCENT, key_secret="not-the-secret"))
    seed(simulator, account, phone=PHONES[0], count=1)
    run = delivery(account)
    assert run.status == SyncStatus.FAILED
    assert run.failure_reason.startswith(f"Tencent Cloud refused the credentials of {account.name}: ")
    assert run.failure_reason.endswith("Check the key ID and secret on the account page.")
    assert "not-the-secret" not in run.failure_reason


def test_a_provider_outage_opens_the_breaker_and_stops_the_run(simulator, simulated_account, fast_backoff, settings):
    settings.CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 3, "COOL_DOWN_SECONDS": 60}
    account = fresh_breaker(simulated_account(Provider.PLIVO))
    seed(simulator, account, phone="+14155550009", count=2)
    simulator.set_faults(provider="plivo", outage=True)
    run = delivery(account)
    assert run.status == SyncStatus.FAILED
    assert "circuit breaker open" in run.failure_reason and "The next run resumes" in run.failure_reason
    assert calls(simulator, "plivo", "ListMessages") == 3  # no hammering past the threshold
    stopped = delivery(account)
    assert stopped.status == SyncStatus.FAILED and "circuit breaker open" in stopped.failure_reason
    assert calls(simulator, "plivo", "ListMessages") == 3  # still open: the next run did not call at all
    fresh_breaker(account)
