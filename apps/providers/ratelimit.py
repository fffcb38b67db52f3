"""Per-account request rate limit for provider calls, shared by every worker.

    waited = acquire(account, "report")   # blocks until a slot in the current second is free

Fixed one-second windows: at most account.effective_report_rate calls per second per key (the
provider's documented limit, e.g. Tencent ReportConversion 1,000/s, or the account's own setting).
A fixed window can let up to twice the rate through across a window edge; providers count per
second too, and the throttled-error retry covers the rest. The counter lives in Redis when
REDIS_URL is set, in this process otherwise (the inline demo). See docs/decisions.md.
"""

from __future__ import annotations

import threading
import time

from apps.providers.breaker import redis_connection
from apps.providers.models import ProviderAccount

MAX_WAIT_SECONDS = 30.0

_lock = threading.Lock()
_local_windows: dict[str, tuple[int, int]] = {}


def _take_local(key: str, window: int, rate: int, slots: int) -> bool:
    with _lock:
        current, count = _local_windows.get(key, (window, 0))
        if current != window:
            current, count = window, 0
        if count + slots > rate:
            return False
        _local_windows[key] = (current, count + slots)
        return True


def _take_redis(connection, key: str, window: int, rate: int, slots: int) -> bool:
    window_key = f"{key}:{window}"
    pipe = connection.pipeline()
    pipe.incrby(window_key, slots)
    pipe.expire(window_key, 3)
    count, _ = pipe.execute()
    return int(count) <= rate


def acquire(account: ProviderAccount, key: str, *, rate: int | None = None, slots: int = 1) -> float:
    """Take `slots` call slots for (account, key); sleep until the next window when this one is full.

    Returns the seconds waited. Gives up after MAX_WAIT_SECONDS and returns anyway: the provider's
    own throttling answer is then handled as a retryable error. Slots refused in a full window stay
    counted there, so a window never lets more than the rate through.
    """
    rate = rate or account.effective_report_rate
    slots = max(1, min(slots, rate))
    full_key = f"smsdash:ratelimit:{key}:{account.pk}"
    connection = redis_connection()
    started = time.time()
    while True:
        now = time.time()
        window = int(now)
        allowed = (
            _take_local(full_key, window, rate, slots)
            if connection is None
            else _take_redis(connection, full_key, window, rate, slots)
        )
        if allowed or now - started > MAX_WAIT_SECONDS:
            return now - started
        time.sleep(window + 1 - now + 0.001)
