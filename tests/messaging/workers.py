"""Real rq workers for the reporting tests: in-process burst workers, and worker processes.

They are waited on by their progress (tests/progress.py), never by a fixed number of seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django_rq
from rq import SimpleWorker

from tests.progress import countdown, cpu_ticks, kill_tree, wait_for_exit, wait_for_progress

ROOT = Path(__file__).resolve().parents[2]


def burst_once() -> None:
    queue = django_rq.get_queue("reports")
    SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)


def next_due_in(queue: str = "reports") -> float | None:
    """Seconds until the queue's next scheduled job (a retry, a parked drain) is due; None if none."""
    registry = django_rq.get_queue(queue).scheduled_job_registry
    first = registry.connection.zrange(registry.key, 0, 0, withscores=True)
    return first[0][1] - time.time() if first else None


def burst(
    measure: Callable[[], Any] | None = None, done: Callable[[Any], bool] | None = None, *, what: str = ""
) -> Any:
    """Run rq's SimpleWorker (scheduler included) in bursts until done(measure()).

    Progress is a new value of the measure, or of the countdown to the next scheduled job: a retry
    waiting out its backoff is not stuck, but a breaker probing on the same cool-down forever is."""
    burst_once()
    if measure is None:
        return None
    value = wait_for_progress(
        lambda: (measure(), countdown(next_due_in())),
        lambda sample: done(sample[0]),
        step=burst_once,
        what=what or "the reports queue",
    )
    return value[0]


class WorkerProcess:
    """`manage.py rqworker reports --with-scheduler` in its own session. Every one started is killed
    at the end of its test (tests/messaging/conftest.py), passed or failed: a worker left running
    would take the next test's jobs from the same Redis database."""

    started: list[WorkerProcess] = []

    def __init__(self, database_url: str, redis_url: str, *, burst: bool = False, log: Path):
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO"}
        args = [sys.executable, "manage.py", "rqworker", "reports", "--with-scheduler"] + (["--burst"] if burst else [])
        self.log = log
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )
        WorkerProcess.started.append(self)

    def kill(self) -> None:
        """SIGKILL to the worker, its scheduler and its work horse: no cleanup, as when a machine dies."""
        kill_tree(self.process, what=f"killed worker {self.log.name}")

    @classmethod
    def kill_all_started(cls) -> None:
        while cls.started:
            worker = cls.started.pop()
            if worker.process.poll() is None:
                worker.kill()

    def wait(self, measure: Callable[[], Any] | None = None) -> int:
        """Wait for a burst worker to exit; its log, its CPU and measure() are its progress."""
        return wait_for_exit(
            self.process,
            what=f"worker {self.log.name}",
            measure=lambda: (self.log.stat().st_size, measure() if measure else None),
            details=lambda: self.output()[-2000:],
        )

    def wait_until(self, measure: Callable[[], Any], done: Callable[[Any], bool], *, what: str) -> None:
        """Wait until done(measure()) while the worker runs; its start-up (CPU, log) counts as progress."""
        wait_for_progress(
            lambda: (measure(), self.log.stat().st_size, cpu_ticks(self.process.pid)),
            lambda sample: done(sample[0]),
            what=what,
            details=lambda: self.output()[-2000:],
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")
