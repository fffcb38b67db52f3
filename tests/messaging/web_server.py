"""gunicorn (gthread) serving smsdash from the test database, and a client firing requests at once.

    with Gunicorn(database_url, log=path, workers=3, threads=8) as server:
        run = post_all(server, token, "messages", bodies)   # run.responses in the order of bodies

The server runs as in production (DEBUG off, jobs inline: no REDIS_URL) on a free port, in its
own process group. Both wait on progress: start-up until the port answers or gunicorn exits, the
requests while answers keep arriving; a stall fails, a slow machine does not.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings

from bench.processes import free_port
from tests.progress import cpu_ticks, wait_for_progress

ROOT = Path(__file__).resolve().parents[2]
STALL_SECONDS = 90  # no answer for this long: the server hangs (a request's own timeout too)


class Gunicorn:
    def __init__(self, database_url: str, *, log: Path, workers: int, threads: int, options: tuple[str, ...] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            DATABASE_URL=database_url,
            DEBUG="false",
            SECRET_KEY=settings.SECRET_KEY,
            FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),  # the accounts the test made
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",
            LOG_LEVEL="WARNING",
        )
        args = [
            str(Path(sys.executable).with_name("gunicorn")), "smsdash.wsgi:application", "-b", f"127.0.0.1:{self.port}",
            "-w", str(workers), "-k", "gthread", "--threads", str(threads), "--log-level", "warning", *options,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def __enter__(self) -> Gunicorn:
        def sample() -> tuple:
            return self._listening(), self.process.poll(), cpu_ticks(self.process.pid)

        def started(value: tuple) -> bool:
            assert value[1] is None, f"gunicorn exited: {self.output()}"
            return value[0]

        wait_for_progress(sample, started, what="gunicorn start-up", details=self.output)
        return self

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Run:
    responses: list[requests.Response]
    seconds: float


def post_all(server: Gunicorn, token: str, path: str, bodies: list) -> Run:
    """POST every body at the same moment, one thread and connection each."""
    start = time.monotonic()

    def post(body) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return requests.post(f"{server.url}/api/v1/{path}", json=body, headers=headers, timeout=STALL_SECONDS)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        futures = [pool.submit(post, body) for body in bodies]
        wait_for_progress(
            lambda: sum(future.done() for future in futures),
            lambda answered: answered == len(futures),
            what=f"answers to POST /api/v1/{path}",
            stall_seconds=STALL_SECONDS,
            details=lambda: server.output()[-3000:],
        )
    return Run([future.result() for future in futures], time.monotonic() - start)
