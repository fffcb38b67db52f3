"""One lock per (account, kind): a Redis lock with expiry when REDIS_URL is set.

A worker that dies keeps the lock only until it expires (LOCK_TTL, refreshed after every page), so
a crashed run never blocks the next one for long. Without Redis (the inline demo) there is nothing
to lock in: the partial unique constraint on running SyncRuns refuses a second run, and a running
run whose heartbeat is older than LOCK_TTL counts as crashed (docs/decisions.md).
"""

from __future__ import annotations

from redis.exceptions import LockError

from apps.providers.breaker import redis_connection

LOCK_TTL = 300  # seconds; longer than one page with all its retries


class SyncLock:
    def __init__(self, account_id: int, kind: str):
        self.connection = redis_connection()
        self.name = f"smsdash:sync:{kind}:{account_id}"
        self._lock = None

    @property
    def shared(self) -> bool:
        """True when the lock lives in Redis: holding it proves every earlier holder is gone."""
        return self.connection is not None

    def acquire(self) -> bool:
        if self.connection is None:
            return True
        # thread_local=False: the run's worker threads refresh the lock its first thread took.
        self._lock = self.connection.lock(self.name, timeout=LOCK_TTL, blocking=False, thread_local=False)
        return bool(self._lock.acquire(blocking=False))

    def refresh(self) -> bool:
        """Push the expiry back; False when the lock expired and someone else may hold it now."""
        if self._lock is None:
            return True
        try:
            self._lock.extend(LOCK_TTL, replace_ttl=True)
        except LockError:
            return False
        return True

    def release(self) -> None:
        if self._lock is None:
            return
        try:
            self._lock.release()
        except LockError:
            pass  # expired meanwhile: nothing of ours to release
        self._lock = None
