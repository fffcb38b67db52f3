"""A throttled probe, with real processes: an rqworker (smsdash.worker.ResilientWorker, as the
Procfile runs it), Redis, a database other processes share and the simulator over HTTP.

Tencent is down and the breaker opens; before its cool-down ends the provider comes back but
throttles, so the probe is throttled; two seconds later it recovers. The probe slot is released
at once, the rate limit pauses, the next probe closes the breaker: reports resume within seconds
of the recovery, not when the probe slot expires (PROBE_TIMEOUT, 60 s). The time from recovery to
the first report is appended to test-artifacts/recovery-times.txt.
"""

from __future__ import annotations

import time

import pytest
from django.db.models import Min

from apps.messaging import jobs
from apps.messaging.models import Conversion, ReportState
from apps.providers.breaker import CLOSED, HALF_OPEN, OPEN, breaker_for, breaker_status
from apps.providers.models import Provider
from smsdash.queue import enqueue
from tests import services
from tests.messaging.recovery import WORKER_CLASS, Process, record_figure
from tests.messaging.reporting_helpers import convert, sent_messages, simulator_counts
from tests.progress import cpu_ticks, wait_for_progress

pytestmark = pytest.mark.redis

TOTAL = 200
THROTTLED_FOR = 2.0  # seconds the provider throttles after the probe, as in the incident
RESUMED_WITHIN = 5.0  # seconds from recovery to the first report (issue's closing criterion)


def reported() -> int:
    return Conversion.objects.filter(report_state=ReportState.REPORTED).count()


def report_requests(simulator) -> int:
    return simulator.stats()["requests"].get("tencent", {}).get("ReportConversion", 0)


def enqueue_in_chunks(account, conversions, chunk: int = 20) -> None:
    ids = [c.pk for c in conversions]
    for start in range(0, len(ids), chunk):
        enqueue(jobs.report_conversions, account.pk, ids[start : start + chunk], queue="reports")


def test_reports_resume_within_seconds_of_the_provider_recovering_from_throttling_the_probe(
    rq_redis, shared_database, simulator, simulated_account, tmp_path, artifacts
):
    account = simulated_account(Provider.TENCENT)
    conversions = convert(sent_messages(simulator, account, TOTAL))
    simulator.set_faults(provider="tencent", outage=True)
    enqueue_in_chunks(account, conversions)
    env = {
        "DATABASE_URL": shared_database,
        "REDIS_URL": services.test_redis_url(),
        "DJANGO_SETTINGS_MODULE": "tests.messaging.breaker_probe_settings",
    }
    args = ["rqworker", "reports", "--with-scheduler", "--worker-class", WORKER_CLASS]
    worker = Process(args, env=env, log=tmp_path / "worker.log")
    try:
        wait_for_progress(
            lambda: (breaker_for(account).state, worker.size(), cpu_ticks(worker.process.pid)),
            lambda v: v[0] == OPEN,
            what="the breaker opening on the outage",
            details=lambda: worker.output()[-2000:],
        )
        simulator.set_faults(provider="tencent", throttle=True)  # before the 3 s cool-down ends
        before_probe = report_requests(simulator)
        wait_for_progress(
            lambda: (report_requests(simulator), worker.size()),
            lambda v: v[0] > before_probe,
            what="the probe after the cool-down",
            details=lambda: worker.output()[-2000:],
        )
        time.sleep(THROTTLED_FOR)  # the provider throttles a while longer: part of the scenario
        simulator.clear_faults()
        recovered = time.time()
        wait_for_progress(
            lambda: (reported(), report_requests(simulator)),
            lambda v: v[0] >= 1,
            what="the first report after the recovery",
            details=lambda: worker.output()[-2000:],
        )
        first = Conversion.objects.aggregate(first=Min("reported_at"))["first"].timestamp()
        wait_for_progress(
            lambda: (reported(), report_requests(simulator)),
            lambda v: v[0] == TOTAL,
            what="the whole backlog after the recovery",
            details=lambda: worker.output()[-2000:],
        )
        drained = time.time() - recovered
    finally:
        worker.stop()
    resumed = first - recovered
    figure = f"first report {resumed:.1f} s after the provider recovered, {TOTAL} drained in {drained:.1f} s"
    record_figure(artifacts, f"throttled probe: {figure}")
    assert resumed <= RESUMED_WITHIN
    # The throttled probe neither reopened the breaker nor held it: one half-open spell, then closed.
    moves = [(t["from"], t["to"]) for t in reversed(breaker_status(account)["transitions"])]
    assert moves == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert simulator_counts(simulator, Conversion.objects.select_related("message")) == [1] * TOTAL
