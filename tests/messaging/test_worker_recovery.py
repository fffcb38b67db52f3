"""Background work heals itself: real rqworker processes (smsdash.worker.ResilientWorker, as the
Procfile runs them), rq's cron, the simulator over HTTP, a database other processes share.

- a Redis restart under busy workers: the workers ride it out and finish the run with no hand;
- a worker killed mid-run (kill -9, scheduler and work horse with it): its claimed rows come back
  once their lease lapses, and the one it may have sent is counted as a possible repeat;
- the worker holding the scheduler killed: another one takes the scheduler over and a scheduled
  retry runs within seconds of its time.

Each test waits on progress (tests/progress.py), never on a budget in all, and appends the time it
measured to test-artifacts/recovery-times.txt.
"""

from __future__ import annotations

import time
from datetime import timedelta

import django_rq
import pytest
from django.db import connection
from django.db.models import Max, Min, Sum
from django.utils import timezone
from rq.scheduler import SCHEDULER_KEY_TEMPLATE

from apps.messaging import jobs
from apps.messaging.models import Conversion, ReportState
from apps.providers import breaker as breakers
from apps.providers.models import Provider
from smsdash import settings as project_settings
from smsdash.queue import enqueue
from tests import services
from tests.messaging.recovery import PrivateRedis, cron, record_figure, worker
from tests.messaging.reporting_helpers import convert, sent_messages, simulator_counts
from tests.progress import countdown, descendants, wait_for_progress

# After a fault, quiet spells are part of recovery (a 30 s lease lapsing, the 10 s release job, a
# scheduler silent 10 s before it is taken over) and a starved machine stretches them; nothing
# moving for this long is a hang. It is also the bound on draining after a fault.
AFTER_A_FAULT = 90.0

pytestmark = pytest.mark.redis


def reported() -> int:
    return Conversion.objects.filter(report_state=ReportState.REPORTED).count()


def held() -> int:
    return Conversion.objects.filter(report_state=ReportState.PENDING).exclude(claim_token="").count()


def use_redis(settings, url: str) -> None:
    settings.REDIS_URL = url
    settings.JOBS_INLINE = False
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 600} for name in ("default", "reports", "sync")}
    breakers._connections.clear()


@pytest.fixture
def private_redis(tmp_path, settings):
    """A redis-server of this test's own (the shared one is never restarted), queues pointed at it."""
    server = PrivateRedis(tmp_path)
    server.start()
    use_redis(settings, server.url)
    yield server
    server.stop()
    breakers._connections.clear()


def enqueue_backlog(account, conversions, *, chunk: int = 20) -> None:
    ids = [c.pk for c in conversions]
    for start in range(0, len(ids), chunk):
        enqueue(jobs.report_conversions, account.pk, ids[start : start + chunk], queue="reports")


def assert_each_reported_and_repeats_counted(simulator, total: int) -> None:
    assert reported() == total
    counts = simulator_counts(simulator, Conversion.objects.select_related("message").order_by("pk"))
    repeats = Conversion.objects.aggregate(total=Sum("repeat_reports"))["total"]
    assert min(counts) == 1
    assert sum(counts) - total <= repeats  # every conversion that reached the provider twice is flagged


def test_busy_workers_ride_out_a_redis_restart_and_finish_the_run(
    private_redis, shared_database, simulator, simulated_account, processes, tmp_path, artifacts
):
    account = simulated_account(Provider.PLIVO, report_rate_limit=10_000)
    conversions = convert(sent_messages(simulator, account, 600))
    simulator.set_faults(provider="plivo", latency_ms=25)
    enqueue_backlog(account, conversions)
    workers = [worker(shared_database, private_redis.url, tmp_path / f"w{n}.log") for n in (1, 2)]
    processes.extend(workers)
    logs = lambda: tuple(w.size() for w in workers)  # noqa: E731
    wait_for_progress(lambda: (reported(), logs()), lambda v: v[0] >= 100, what="reports before the restart")

    private_redis.shutdown_nosave()  # both workers are busy with report jobs
    time.sleep(5)  # the outage itself
    private_redis.start()
    restarted = time.monotonic()
    wait_for_progress(
        lambda: (reported(), held(), logs()),
        lambda v: v[0] == 600,
        what="reports after the Redis restart",
        stall_seconds=AFTER_A_FAULT,
        details=lambda: "\n".join(w.output()[-1500:] for w in workers),
    )
    drained = time.monotonic() - restarted
    record_figure(artifacts, f"Redis restarted under 2 busy workers: drained {drained:.1f} s after the restart")

    assert all(w.alive for w in workers), [w.output()[-1500:] for w in workers]
    assert not any("quitting" in w.output() or "raised an exception" in w.output() for w in workers)  # scheduler too
    assert_each_reported_and_repeats_counted(simulator, 600)


def lease_lapses_in() -> float | None:
    """Seconds until the oldest held claim's lease lapses (it is given back soon after)."""
    oldest = Conversion.objects.filter(report_state=ReportState.PENDING).exclude(claim_token="")
    claimed = oldest.aggregate(first=Min("claimed_at"))["first"]
    if claimed is None:
        return None
    lease = timedelta(seconds=project_settings.CONVERSION_REPORTING["CLAIM_TIMEOUT_SECONDS"])
    return (claimed + lease - timezone.now()).total_seconds()


def test_a_killed_workers_claimed_rows_are_reported_again_within_a_minute(
    rq_redis, shared_database, simulator, simulated_account, processes, tmp_path, artifacts
):
    account = simulated_account(Provider.PLIVO, report_rate_limit=10_000)
    conversions = convert(sent_messages(simulator, account, 600))
    simulator.set_faults(provider="plivo", latency_ms=25)
    enqueue_backlog(account, conversions)
    url = services.test_redis_url()
    first = worker(shared_database, url, tmp_path / "first.log", "default", "reports")
    processes.extend([first, cron(shared_database, url, tmp_path / "cron.log")])
    wait_for_progress(lambda: (reported(), first.size()), lambda v: v[0] >= 150, what="reports before the kill")

    first.kill()  # mid-job: its claimed rows stay claimed, a report may have gone out unrecorded
    killed, stranded = time.monotonic(), held()
    assert stranded > 0
    second = worker(shared_database, url, tmp_path / "second.log", "default", "reports")
    processes.append(second)
    wait_for_progress(
        lambda: (reported(), held(), countdown(lease_lapses_in())),
        lambda v: v[0] == 600,
        what="reports after the kill",
        stall_seconds=AFTER_A_FAULT,
        details=lambda: second.output()[-2000:],
    )
    drained = time.monotonic() - killed
    record_figure(artifacts, f"worker killed mid-run ({stranded} rows held): drained {drained:.1f} s after the kill")

    assert_each_reported_and_repeats_counted(simulator, 600)
    assert Conversion.objects.aggregate(most=Max("repeat_reports"))["most"] >= 1
    assert "possible repeat: conversion" in second.output()
    assert f"of account {account.name} (plivo) held by a worker that stopped renewing its claim" in second.output()


def scheduler_holder(connection) -> str | None:
    holder = connection.get("rq:scheduler-lock:reports")
    return holder.decode() if holder else None


def test_a_scheduled_retry_runs_within_seconds_of_its_time_after_the_scheduler_worker_is_killed(
    rq_redis, shared_database, simulator, simulated_account, processes, tmp_path, artifacts
):
    account = simulated_account(Provider.PLIVO)
    conversion = convert(sent_messages(simulator, account, 1))[0]
    url = services.test_redis_url()
    first = worker(shared_database, url, tmp_path / "first.log")
    processes.append(first)
    wait_for_progress(lambda: (scheduler_holder(rq_redis), first.size()), bool, what="the first scheduler")
    second = worker(shared_database, url, tmp_path / "second.log")
    processes.append(second)
    wait_for_progress(second.size, lambda size: "Listening on" in second.output(), what="the second worker")

    first.kill()  # the worker, its scheduler process and its lock, which lives on in Redis
    due = timezone.now() + timedelta(seconds=3)
    django_rq.get_queue("reports").enqueue_at(due, jobs.report_conversions, account.pk, [conversion.pk])
    wait_for_progress(
        lambda: (reported(), countdown((due - timezone.now()).total_seconds()), scheduler_holder(rq_redis)),
        lambda v: v[0] == 1,
        what="the scheduled report",
        stall_seconds=AFTER_A_FAULT,
        details=lambda: second.output()[-2000:],
    )
    late = (timezone.now() - due).total_seconds()
    record_figure(artifacts, f"scheduler's worker killed: a retry due 3 s later ran {late:.1f} s after its time")

    # Only a scheduler can have moved the job to the queue: the second worker's, which holds the lock
    # now (taken over from the silent one; on a starved machine it may even have taken it before the
    # kill, when the first scheduler's heartbeat had been silent 10 s).
    holder = scheduler_holder(rq_redis)
    assert holder is not None
    assert int(rq_redis.hget(SCHEDULER_KEY_TEMPLATE % holder, "pid")) in descendants(second.process.pid)
    assert simulator_counts(simulator, [conversion]) == [1]


def terminate_other_backends() -> int:
    """What an operator's pg_terminate_backend (or a failover) does to every worker's connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_job_whose_database_connection_is_cut_gives_its_rows_back_and_finishes_the_run(
    rq_redis, shared_database, simulator, simulated_account, processes, tmp_path, artifacts
):
    if connection.vendor != "postgresql":
        pytest.skip("terminating a backend is a PostgreSQL fault; SQLite has no server connection to cut")
    account = simulated_account(Provider.PLIVO, report_rate_limit=10_000)
    conversions = convert(sent_messages(simulator, account, 600))
    simulator.set_faults(provider="plivo", latency_ms=25)
    enqueue_backlog(account, conversions)
    url = services.test_redis_url()
    busy = worker(shared_database, url, tmp_path / "worker.log", "default", "reports")
    processes.extend([busy, cron(shared_database, url, tmp_path / "cron.log")])
    wait_for_progress(lambda: (reported(), busy.size()), lambda v: v[0] >= 150, what="reports before the cut")

    assert terminate_other_backends() > 0
    cut = time.monotonic()
    wait_for_progress(
        lambda: (reported(), held(), countdown(lease_lapses_in())),
        lambda v: v[0] == 600,
        what="reports after the connections were cut",
        stall_seconds=AFTER_A_FAULT,
        details=lambda: busy.output()[-2000:],
    )
    drained = time.monotonic() - cut
    record_figure(artifacts, f"PostgreSQL backends terminated mid-run: drained {drained:.1f} s after the cut")

    assert busy.alive
    assert_each_reported_and_repeats_counted(simulator, 600)
