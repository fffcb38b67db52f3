"""Claims as leases: a worker's claim on conversions lives only while the worker does.

A claim (reporting._claim) stamps rows with a token and claimed_at. While the process reports
them, this module's thread moves claimed_at forward every third of CLAIM_TIMEOUT_SECONDS. A
process that dies (kill -9, a lost machine, an OOM kill) stops renewing, and the sweep
(reporting.claims_release_expired) gives its rows back once claimed_at is older than
CLAIM_TIMEOUT_SECONDS: about 30 s, instead of a fixed timeout long enough for the slowest chunk.

Only claims held longer than one renewal interval are renewed: a chunk normally finishes in well
under a second, so the thread costs nothing on the hot path. The lease lives in the database, the
source of truth, so a Redis restart that loses every key does not release live claims.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.messaging.models import Conversion, ReportState

logger = logging.getLogger(__name__)


def lease_seconds() -> float:
    return float(settings.CONVERSION_REPORTING["CLAIM_TIMEOUT_SECONDS"])


class ClaimLeases:
    """The claim tokens this process holds, renewed by a daemon thread while the process lives."""

    def __init__(self):
        self._held: dict[str, float] = {}  # token -> when it was claimed or last renewed (monotonic)
        self._lock = threading.Lock()
        self._pid: int | None = None

    def hold(self, token: str) -> None:
        with self._lock:
            self._held[token] = time.monotonic()
            if self._pid != os.getpid():  # first use, or a forked work horse: the parent's thread is not here
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="claim-leases", daemon=True).start()

    def drop(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)

    def held(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def _due(self, interval: float) -> list[str]:
        limit = time.monotonic() - interval
        with self._lock:
            due = [token for token, renewed in self._held.items() if renewed <= limit]
            for token in due:
                self._held[token] = time.monotonic()
        return due

    def _run(self) -> None:
        while True:
            interval = lease_seconds() / 3
            time.sleep(interval / 2)
            due = self._due(interval)
            if not due:
                continue
            try:
                renew(due)
            except Exception:  # the database is away: the lease may lapse, the sweep then counts a repeat
                logger.exception("could not renew %d claim lease(s)", len(due))
                connection.close()


def renew(tokens: list[str]) -> int:
    """Move claimed_at of the rows still held under these tokens to now."""
    rows = Conversion.objects.filter(claim_token__in=tokens, report_state=ReportState.PENDING)
    return rows.update(claimed_at=timezone.now())


leases = ClaimLeases()
