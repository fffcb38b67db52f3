"""Ask for backlog drains without one Redis call per single conversion.

A single conversion, once committed, hands its account to this process's requester thread. The
thread asks for a drain (jobs.request_drain: a Redis SET NX, and the job when the flag was not
set yet) at most every INTERVAL seconds, once per account for everything handed over meanwhile.
That SET was a sixth of a single-conversion request's CPU (issue 4 benchmark); now each web
process sends it at most 20 times a second per account, however many conversions arrive.

Nothing is reported later than INTERVAL because of this, and nothing is lost: an account is
handed over only after its conversion committed, so the drain it asks for sees that row. If the
process dies before the thread ran, the rows are committed and pending, and the periodic sweep
(jobs.sweep_pending_conversions) reports them.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

INTERVAL = 0.05  # seconds between two rounds of requests


class DrainRequester:
    def __init__(self, send: Callable[[int], None], interval: float = INTERVAL):
        self._send = send
        self._interval = interval
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: set[int] = set()
        self._busy = False  # a round is being sent
        self._pid: int | None = None

    def request(self, account_id: int) -> None:
        with self._lock:
            self._pending.add(account_id)
            if self._pid != os.getpid():  # first use, or a forked child: the parent's thread is not here
                self._start()
        self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every account handed over so far has been sent; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and not self._busy:
                    return True
            self._wake.set()
            time.sleep(0.002)
        return False

    def _start(self) -> None:
        self._pid = os.getpid()
        threading.Thread(target=self._run, name="drain-requester", daemon=True).start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                accounts, self._pending = self._pending, set()
                self._busy = bool(accounts)
            for account_id in accounts:
                try:
                    self._send(account_id)
                except Exception:  # the rows are committed: the sweep reports them
                    logger.exception("could not request a report drain for account %s", account_id)
            with self._lock:
                self._busy = False
            time.sleep(self._interval)  # what arrives meanwhile goes in one round


def _send(account_id: int) -> None:
    from apps.messaging import jobs  # jobs use this module: import here to keep the graph acyclic

    jobs.request_drain(account_id)


requester = DrainRequester(_send)
atexit.register(requester.flush, 2.0)  # a web process stopping normally sends what it holds
