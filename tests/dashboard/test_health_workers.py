"""The health panel against a real rqworker (ResilientWorker, as the Procfile runs it) on a real
Redis: alive and busy with its scheduler while it works; once killed (kill -9, work horse and
scheduler with it) listed dead and the scheduler not running, although rq's own registry still
calls it busy until its key's TTL runs out. Waited on by progress, never by a budget."""

from __future__ import annotations

import os
import time

import pytest
from django.urls import reverse
from rq import Queue, Worker

from apps.dashboard import health
from tests.conftest import PASSWORD
from tests.messaging.recovery import worker
from tests.progress import wait_for_progress

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def state(connection) -> tuple:
    queues = health.queue_health()
    return (
        tuple((w.state, w.alive) for w in queues.workers),
        queues.scheduler_alive,
        tuple(w.job_id for w in queues.workers),
    )


def test_a_killed_busy_worker_is_listed_dead_and_its_scheduler_gone(
    client, root, jobs_on_redis, settings, tmp_path, processes
):
    settings.OPS_WORKER_SILENT_SECONDS = 8  # the worker beats every 5 s, busy or idle
    url = settings.REDIS_URL
    process = worker(os.environ.get("DATABASE_URL", ""), url, tmp_path / "worker.log", "default", "reports", "sync")
    processes.append(process)
    job = Queue("default", connection=jobs_on_redis).enqueue(time.sleep, 600)

    busy = wait_for_progress(
        lambda: (state(jobs_on_redis), process.size()),
        lambda sample: sample[0][0] == (("busy", True),) and sample[0][1],
        what="the worker taking the job, with its scheduler",
        details=lambda: process.output()[-2000:],
    )
    assert busy[0][2] == (job.id,)

    process.kill()
    killed_at = time.monotonic()
    wait_for_progress(
        lambda: (state(jobs_on_redis), round(time.monotonic() - killed_at)),
        lambda sample: sample[0][0] == (("dead", False),) and not sample[0][1],
        what="the panel noticing the killed worker",
    )
    assert [w.get_state() for w in Worker.all(connection=jobs_on_redis)] == ["busy"]  # rq still says busy

    client.login(username="root", password=PASSWORD)
    page = client.get(reverse("dashboard:health")).content.decode()
    assert 'id="workers-alive">0</strong>' in page
    dead = '<td class="state" data-label="State"><strong>dead</strong><div class="help">silent for over 8 s</div></td>'
    assert dead in page
    assert 'id="scheduler-state">none alive</strong>' in page
