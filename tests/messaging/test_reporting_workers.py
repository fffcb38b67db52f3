"""The reporting pipeline with real Redis and real rq workers, against the simulator over HTTP.

In-process burst workers (rq's SimpleWorker, scheduler included) for the outage run; worker
processes (`manage.py rqworker`) sharing the test database for the two-worker and crash runs.
"""

from __future__ import annotations

import time
from datetime import timedelta

import django_rq
import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.messaging import drain_requests, jobs
from apps.messaging.models import Conversion, ReportState
from apps.messaging.services import api_token_create
from apps.providers import breaker as breakers
from apps.providers.models import Provider
from smsdash import settings as project_settings
from smsdash.queue import enqueue
from tests import services
from tests.messaging.conftest import ApiClient
from tests.messaging.reporting_helpers import convert, sent_messages, simulator_counts
from tests.messaging.workers import WorkerProcess, burst

pytestmark = pytest.mark.redis


def reported() -> int:
    return Conversion.objects.filter(report_state=ReportState.REPORTED).count()


@pytest.mark.django_db
def test_an_outage_during_1000_conversions_loses_none_and_reports_each_exactly_once(
    rq_redis, settings, simulator, simulated_account, client, django_capture_on_commit_callbacks
):
    settings.CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 5, "COOL_DOWN_SECONDS": 1}
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "RETRY_BASE_SECONDS": 0.2}
    account = simulated_account(Provider.TENCENT)  # 1,000 reports/s: Tencent's documented limit
    messages = sent_messages(simulator, account, 1000)
    api = ApiClient(client, api_token_create(account=account, name="app")[1])
    simulator.set_faults(provider="tencent", outage=True)

    items = [{"message_id": m.provider_message_id, "status": "converted"} for m in messages]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("conversions", {"items": items}).json()["created"] == 1000
    burst()  # the job meets the outage: the breaker opens after 5 failures and parks the rest
    assert breakers.breaker_for(account).state == breakers.OPEN
    assert Conversion.objects.filter(report_state=ReportState.PENDING).count() == 1000
    assert simulator.stats()["requests"]["tencent"]["ReportConversion"] == 5

    time.sleep(1.2)
    burst()  # the cool-down is over: one probe, still failing, re-opens the breaker
    assert simulator.stats()["requests"]["tencent"]["ReportConversion"] <= 12
    simulator.clear_faults()
    burst(reported, lambda n: n == 1000, what="conversions reported after the outage")

    conversions = list(Conversion.objects.select_related("message"))
    assert simulator_counts(simulator, conversions) == [1] * 1000
    assert sum(simulator.stats()["conversions"].values()) == 1000
    assert breakers.breaker_for(account).state == breakers.CLOSED


@pytest.mark.django_db
def test_single_conversions_share_one_backlog_drain_job_and_are_each_reported_once(
    rq_redis, simulator, simulated_account, client, django_capture_on_commit_callbacks
):
    account = simulated_account(Provider.PLIVO, report_rate_limit=10_000)
    *messages, extra = sent_messages(simulator, account, 31)
    api = ApiClient(client, api_token_create(account=account, name="app")[1])
    for message in messages:
        with django_capture_on_commit_callbacks(execute=True):
            item = {"message_id": message.provider_message_id, "status": "converted"}
            assert api.post("conversions", item).status_code == 201
    assert drain_requests.requester.flush()  # the web process's requester thread has asked Redis
    assert django_rq.get_queue("reports").count == 1  # one drain for thirty singles, not thirty jobs
    burst()
    assert reported() == 30
    assert simulator_counts(simulator, Conversion.objects.select_related("message")) == [1] * 30
    with django_capture_on_commit_callbacks(execute=True):  # the drain cleared its flag: a new one is asked for
        api.post("conversions", {"message_id": "unknown", "status": "converted"})
        api.post("conversions", {"message_id": extra.provider_message_id, "status": "converted"})
    assert drain_requests.requester.flush()
    assert django_rq.get_queue("reports").count == 1


@pytest.mark.django_db
def test_retries_run_through_rqs_scheduler_with_backoff(rq_redis, settings, simulator, simulated_account):
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "RETRY_BASE_SECONDS": 0.4}
    account = simulated_account(Provider.PLIVO)
    conversions = convert(sent_messages(simulator, account, 1))
    simulator.set_faults(provider="plivo", throttle=True)
    throttled_at = timezone.now()
    jobs.report_conversions(account.pk, [conversions[0].pk])
    job_done_at = timezone.now()

    scheduled = django_rq.get_queue("reports").scheduled_job_registry
    assert scheduled.count == 1  # the retry waits in rq's scheduled registry, not in a sleeping worker
    due = scheduled.get_scheduled_time(scheduled.get_job_ids()[0])
    # Backoff 0.2-0.4 s for a first retry, rounded up to the whole second rq's scheduler keeps.
    assert throttled_at + timedelta(seconds=0.2) < due <= job_done_at + timedelta(seconds=1.4)
    simulator.clear_faults()
    burst(reported, lambda n: n == 1, what="the scheduled retry")
    conversion = Conversion.objects.get()
    assert conversion.report_attempts == 2
    assert conversion.reported_at >= due  # the retry ran when due, not before
    assert simulator_counts(simulator, conversions) == [1]


def enqueue_backlog(account, conversions, *, chunk: int = 20, times: int = 1) -> None:
    ids = [c.pk for c in conversions]
    for _ in range(times):
        for start in range(0, len(ids), chunk):
            enqueue(jobs.report_conversions, account.pk, ids[start : start + chunk], queue="reports")


def test_two_workers_draining_the_same_backlog_never_report_a_conversion_twice(
    rq_redis, shared_database, simulator, simulated_account, tmp_path
):
    account = simulated_account(Provider.PLIVO, report_rate_limit=10_000)
    conversions = convert(sent_messages(simulator, account, 400))
    enqueue_backlog(account, conversions, times=2)  # every conversion is on the queue twice
    url = services.test_redis_url()
    workers = [WorkerProcess(shared_database, url, burst=True, log=tmp_path / f"w{n}.log") for n in (1, 2)]
    assert [w.wait(reported) for w in workers] == [0, 0], [w.output()[-2000:] for w in workers]
    assert reported() == 400
    assert simulator_counts(simulator, Conversion.objects.select_related("message")) == [1] * 400
    assert all("report_conversions" in w.output() for w in workers), "both workers took jobs"


def test_a_killed_worker_and_a_flushed_redis_lose_no_conversion(
    rq_redis, shared_database, settings, simulator, simulated_account, tmp_path
):
    account = simulated_account(Provider.PLIVO, report_rate_limit=10_000)
    conversions = convert(sent_messages(simulator, account, 600))
    simulator.set_faults(provider="plivo", latency_ms=4)
    enqueue_backlog(account, conversions)
    url = services.test_redis_url()

    first = WorkerProcess(shared_database, url, log=tmp_path / "first.log")
    first.wait_until(reported, lambda n: n >= 100, what="reports by the first worker")
    first.kill()  # mid-job: its claimed rows stay claimed, one report may have gone out unrecorded
    second = WorkerProcess(shared_database, url, log=tmp_path / "second.log")
    second.wait_until(reported, lambda n: n >= 250, what="reports by the second worker")
    rq_redis.flushdb()  # every queued job is gone
    time.sleep(1)
    second.kill()
    assert reported() < 600

    settings.CONVERSION_REPORTING = {
        **settings.CONVERSION_REPORTING,
        "CLAIM_TIMEOUT_SECONDS": 1,
        "STALE_AFTER_SECONDS": 0,
    }
    time.sleep(1.1)
    assert jobs.sweep_pending_conversions()["requeued"] == 600 - reported()
    simulator.clear_faults()
    assert WorkerProcess(shared_database, url, burst=True, log=tmp_path / "third.log").wait(reported) == 0

    assert reported() == 600
    counts = simulator_counts(simulator, Conversion.objects.select_related("message").order_by("pk"))
    repeats = Conversion.objects.aggregate(total=Sum("repeat_reports"))["total"]
    assert min(counts) == 1
    # Only a dead worker's in-flight reports (one per report thread) can repeat, and they are counted.
    threads_per_worker = project_settings.CONVERSION_REPORTING["THREADS"]
    assert sum(counts) - 600 <= repeats <= 2 * threads_per_worker
