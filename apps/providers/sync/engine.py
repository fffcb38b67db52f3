"""Run one sync: take the (account, kind) lock, claim or resume a SyncRun, hand a SyncContext to the
kind's worker, and record how it ended. Workers call the provider only through SyncContext.call,
which paces calls (rate limit), backs off on throttling, and stops at an open circuit breaker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from apps.providers import outcomes, ratelimit
from apps.providers.breaker import Outcome, breaker_for
from apps.providers.clients import client_for
from apps.providers.clients.base import ProviderClient, ProviderError
from apps.providers.models import Provider, ProviderAccount, SyncKind, SyncRun
from apps.providers.sync import runs
from apps.providers.sync.locks import SyncLock

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # per call: the first try and five retries
BACKOFF_SECONDS = 0.5  # doubled per retry: 0.5, 1, 2, 4, 8 (15.5 s at most per call)

# Documented request rates of the operations the syncs use (PROVIDERS.md A.7, B.6, C.2).
CALL_RATES = {
    (SyncKind.DELIVERY, Provider.ALIYUN): 5000,  # QuerySendDetails
    (SyncKind.DELIVERY, Provider.TENCENT): 20,  # PullSmsSendStatusByPhoneNumber
    (SyncKind.DELIVERY, Provider.PLIVO): 60,  # 300 per 5 s (UNCONFIRMED, third-party figure)
    (SyncKind.TEMPLATES, Provider.ALIYUN): 1000,  # QuerySmsTemplate 5000, GetSmsTemplate 1000
    (SyncKind.TEMPLATES, Provider.TENCENT): 20,  # DescribeSmsTemplateList
    (SyncKind.TEMPLATES, Provider.PLIVO): 1,
}


class CircuitOpen(Exception):
    def __init__(self, seconds: int):
        super().__init__(f"circuit open for {seconds} s")
        self.seconds = seconds


@dataclass
class SyncContext:
    run: SyncRun
    account: ProviderAccount
    client: ProviderClient
    lock: SyncLock
    attempts: int = field(default=0)
    skipped: list[str] = field(default_factory=list)
    owner: threading.Thread = field(default_factory=threading.current_thread)

    @property
    def cursor(self) -> dict:
        return dict(self.run.cursor or {})

    @property
    def workers(self) -> int:
        """Threads for the run's groups (SYNC_WORKERS, PostgreSQL). Inside a transaction (an inline
        caller's atomic block) other threads could not see its uncommitted rows: then one thread."""
        if connection.in_atomic_block:
            return 1
        if connection.vendor == "sqlite":
            return 1  # SQLite takes one writer at a time: threads only queue for it (bench/sync)
        return max(1, int(getattr(settings, "SYNC_WORKERS", 4)))

    def thread_client(self) -> ProviderClient:
        """The account's client for the calling thread (its connections are not thread-safe)."""
        return self.client if threading.current_thread() is self.owner else client_for(self.account)

    def call(self, operation: Callable[..., Any], *args: Any) -> Any:
        """Call the provider: paced, retried with exponential back-off, refused while the breaker is open."""
        breaker = breaker_for(self.account)
        rate, key = CALL_RATES[(self.run.kind, self.account.provider)], f"sync-{self.run.kind}"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.attempts = attempt
            if not breaker.allow():
                raise CircuitOpen(max(0, round(breaker.retry_at() - time.time())))
            ratelimit.acquire(self.account, key, rate=rate)
            try:
                result = operation(*args)
            except ProviderError as error:
                delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
                outcome = outcomes.record(breaker, self.account, key, error, pause=delay)
                if not error.retryable or attempt == MAX_ATTEMPTS:
                    raise
                runs.run_note_error(self.run)
                if outcome != Outcome.THROTTLED:  # a throttled retry waits out the pause in acquire()
                    time.sleep(delay)
                continue
            except Exception as error:  # no answer to judge the provider by; a probe is released
                outcomes.record(breaker, self.account, key, error)
                raise
            outcomes.record(breaker, self.account, key, None)
            return result
        raise AssertionError("unreachable")

    def skip(self, *, label: str, error: ProviderError, cursor: dict) -> None:
        """The provider refused one group or template as invalid: note it and go on with the rest
        (retrying would fail the same way, and stopping would block every later item)."""
        logger.warning("sync run %s skipped %s: %s", self.run.pk, label, error)
        self.skipped.append(f"{label}: {error}")
        runs.run_progress(self.run, cursor=cursor, units=1, errors=1)

    def set_total(self, total: int) -> None:
        runs.run_set_total(self.run, total)

    def page_done(self, *, cursor: dict, seen: int = 0, updated: int = 0, unit_finished: bool = False) -> None:
        if not self.lock.refresh():
            raise runs.RunLost(f"lock of sync run {self.run.pk} expired")
        runs.run_progress(self.run, cursor=cursor, pages=1, seen=seen, updated=updated, units=int(unit_finished))


def _worker(kind: str) -> Callable[[SyncContext], None]:
    if kind == SyncKind.DELIVERY:
        from apps.messaging.delivery.pull import sync_delivery

        return sync_delivery
    from apps.providers.sync.template_review import sync_template_reviews

    return sync_template_reviews


def sync_execute(*, account: ProviderAccount, kind: str, scope: dict | None = None, trigger: str = "schedule"):
    """Run a sync now, in this process. Returns the SyncRun, or None when one is already running."""
    lock = SyncLock(account.pk, kind)
    if not lock.acquire():
        logger.info("%s sync of account %s refused: another run holds the lock", kind, account.pk)
        return None
    run = runs.run_begin(account=account, kind=kind, scope=scope or {}, trigger=trigger, lock_shared=lock.shared)
    if run is None:
        lock.release()
        logger.info("%s sync of account %s refused: a run is in progress", kind, account.pk)
        return None
    context = SyncContext(run=run, account=account, client=client_for(account), lock=lock)
    try:
        _worker(kind)(context)
    except runs.RunLost:
        logger.warning("sync run %s was taken over by a later run; stopping", run.pk)
        return run
    except CircuitOpen as stop:
        runs.run_finish(run, reason=_circuit_reason(account, stop.seconds))
    except Exception as error:  # a worker crash must end as a failed run with its reason, not a stuck one
        logger.exception("sync run %s failed", run.pk)
        runs.run_finish(run, reason=runs.describe_error(error, account=account, attempts=context.attempts))
    else:
        reason = runs.SKIPPED_REASON.format(count=len(context.skipped), items="; ".join(context.skipped[:5]))
        runs.run_finish(run, reason=reason if context.skipped else "", keep_cursor=False)
    lock.release()
    return run


def _circuit_reason(account: ProviderAccount, seconds: int) -> str:
    return runs.CIRCUIT_OPEN_REASON.format(
        provider=account.get_provider_display(), account=account.name, seconds=seconds
    )
