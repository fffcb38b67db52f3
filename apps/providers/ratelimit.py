"""Per-account request rate limit for provider calls, shared by every worker.

    waited = acquire(account, "report")   # blocks until a slot in the current second is free
    back_off(account, "report")           # the provider throttled us: nobody calls for a moment

Fixed one-second windows: at most account.effective_report_rate calls per second per key (the
provider's documented limit, e.g. Tencent ReportConversion 1,000/s, or the account's own setting).
A fixed window can let up to twice the rate through across a window edge; providers count per
second too, and the throttled-error retry covers the rest. A throttled answer pauses the key for
every worker (back_off): throttling says the provider is up, so it is the rate limit that backs off,
never the circuit breaker. The counter and the pause live in Redis when REDIS_URL is set, in this
process otherwise (the inline demo). See docs/decisions.md.
"""

from __future__ import annotations

import threading
import time

from apps.providers.breaker import redis_connection
from apps.providers.models import ProviderAccount

MAX_WAIT_SECONDS = 30.0
# After a throttled answer nobody calls with that key for this long: short, because the probe of a
# recovering provider waits for it (reports resume at most this long after the provider is back).
THROTTLE_PAUSE_SECONDS = 1.0

_lock = threading.Lock()
_local_windows: dict[str, tuple[int, int]] = {}
_local_pauses: dict[str, float] = {}

# KEYS: window counter, pause; ARGV: slots, pause to set (ms, 0 to take slots). Answers the window's
# count, or minus the milliseconds of pause left. One script: the pause costs no extra round trip.
_SCRIPT = """
if tonumber(ARGV[2]) > 0 then
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], 1, 'PX', ARGV[2]) end
  return 0
end
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return -pause end
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], 3)
return count
"""
_scripts: dict[object, object] = {}  # per Redis connection


def _take_local(key: str, window: int, rate: int, slots: int) -> float:
    with _lock:
        paused = _local_pauses.get(key, 0) - time.time()
        if paused > 0:
            return -paused
        current, count = _local_windows.get(key, (window, 0))
        if current != window:
            current, count = window, 0
        if count + slots > rate:
            return 0.0
        _local_windows[key] = (current, count + slots)
        return 1.0


def _script(connection):
    if connection not in _scripts:
        _scripts[connection] = connection.register_script(_SCRIPT)
    return _scripts[connection]


def _take_redis(connection, key: str, window: int, rate: int, slots: int) -> float:
    """1 when the slots are taken, 0 when the window is full, minus the seconds of pause left."""
    count = int(_script(connection)(keys=[f"{key}:{window}", f"{key}:pause"], args=[slots, 0]))
    if count < 0:
        return count / 1000
    return 1.0 if count <= rate else 0.0


def _key(account: ProviderAccount, key: str) -> str:
    return f"smsdash:ratelimit:{key}:{account.pk}"


def back_off(account: ProviderAccount, key: str, seconds: float = THROTTLE_PAUSE_SECONDS) -> None:
    """The provider throttled a call: no worker calls with this key for `seconds` (a longer pause
    already set is kept)."""
    full_key, connection = _key(account, key), redis_connection()
    if connection is None:
        with _lock:
            _local_pauses[full_key] = max(_local_pauses.get(full_key, 0), time.time() + seconds)
        return
    _script(connection)(keys=[full_key, f"{full_key}:pause"], args=[1, max(1, int(seconds * 1000))])


def acquire(account: ProviderAccount, key: str, *, rate: int | None = None, slots: int = 1) -> float:
    """Take `slots` call slots for (account, key); sleep until the next window when this one is full,
    or until a pause set by back_off() ends.

    Returns the seconds waited. Gives up after MAX_WAIT_SECONDS and returns anyway: the provider's
    own throttling answer is then handled as a retryable error. Slots refused in a full window stay
    counted there, so a window never lets more than the rate through.
    """
    rate = rate or account.effective_report_rate
    slots = max(1, min(slots, rate))
    full_key = _key(account, key)
    connection = redis_connection()
    started = time.time()
    while True:
        now = time.time()
        window = int(now)
        taken = (
            _take_local(full_key, window, rate, slots)
            if connection is None
            else _take_redis(connection, full_key, window, rate, slots)
        )
        if taken > 0 or now - started > MAX_WAIT_SECONDS:
            return now - started
        time.sleep(-taken if taken < 0 else window + 1 - now + 0.001)
