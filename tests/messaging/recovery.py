"""Real processes for the recovery tests: a private redis-server that a test may stop and restart,
rq workers as the Procfile runs them, rq's cron, and kill -9 of a whole worker (its scheduler and
its work horse, which rq puts in a process group of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import redis

from bench.processes import free_port
from tests.progress import kill_tree, wait_for_exit, wait_for_progress

ROOT = Path(__file__).resolve().parents[2]
WORKER_CLASS = "smsdash.worker.ResilientWorker"  # as in the Procfile


class PrivateRedis:
    """A redis-server of the test's own, on a free port, with AOF as production should run it."""

    def __init__(self, directory: Path):
        self.directory, self.port = directory, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        wait_for_progress(self._answers, bool, what="private redis-server starting")
        client.close()

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            assert self.process.poll() is None, (self.directory / "redis.log").read_text()
            return False

    def shutdown_nosave(self) -> None:
        try:
            redis.Redis.from_url(self.url).shutdown(nosave=True)
        except redis.exceptions.ConnectionError:
            pass  # the server closes the connection as it goes
        wait_for_exit(self.process, what="redis-server shutting down")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Process:
    """A manage.py command in its own session, output to a log file."""

    def __init__(self, args: list[str], *, env: dict, log: Path):
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**os.environ, **env, "LOG_LEVEL": "INFO"},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the process and everything below it, at once: as when its machine dies."""
        kill_tree(self.process, what=f"killed {self.log.name}")

    def stop(self) -> None:
        if self.alive:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def size(self) -> int:
        return self.log.stat().st_size


def worker(database_url: str, redis_url: str, log: Path, *queues: str) -> Process:
    args = ["rqworker", *(queues or ("reports",)), "--with-scheduler", "--worker-class", WORKER_CLASS]
    return Process(args, env={"DATABASE_URL": database_url, "REDIS_URL": redis_url}, log=log)


def cron(database_url: str, redis_url: str, log: Path) -> Process:
    return Process(["rqcron", "smsdash.cron"], env={"DATABASE_URL": database_url, "REDIS_URL": redis_url}, log=log)


def record_figure(artifacts: Path, line: str) -> None:
    """Times to drain, for the closing note: appended to artifacts/recovery-times.txt."""
    with (artifacts / "recovery-times.txt").open("a") as out:
        out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
