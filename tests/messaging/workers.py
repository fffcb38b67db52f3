"""Real rq workers for the reporting tests: in-process burst workers, and worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import django_rq
from rq import SimpleWorker

ROOT = Path(__file__).resolve().parents[2]


def burst(until=None, *, timeout: float = 60) -> None:
    """Run rq's SimpleWorker (scheduler included) in bursts until until() holds."""
    deadline = time.monotonic() + timeout
    while True:
        queue = django_rq.get_queue("reports")
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)
        if until is None or until():
            return
        assert time.monotonic() < deadline, "the workers did not finish in time"
        time.sleep(0.1)


def wait_for(condition, *, timeout: float = 60, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(interval)


class WorkerProcess:
    """`manage.py rqworker reports --with-scheduler` in its own process group (so it can be killed whole)."""

    def __init__(self, database_url: str, redis_url: str, *, burst: bool = False, log: Path):
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO"}
        args = [sys.executable, "manage.py", "rqworker", "reports", "--with-scheduler"] + (["--burst"] if burst else [])
        self.log = log
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self) -> None:
        """SIGKILL to the worker and its work horse: no cleanup, as when a machine dies."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait(self, timeout: float = 120) -> int:
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")
