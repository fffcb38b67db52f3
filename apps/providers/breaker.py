"""One circuit breaker per provider account, shared by every process that calls the provider.

    breaker = breaker_for(account)
    if breaker.allow():              # False while open; True for the one probe after the cool-down
        try:
            client.report_conversion(...)
        except ProviderError as error:
            if error.kind == ErrorKind.TRANSIENT:
                breaker.record_failure()
            ...
        else:
            breaker.record_success()
    else:
        park the work until breaker.retry_at()

States: closed (calls go through, consecutive failures counted), open (no calls until the
cool-down ends), half_open (one probe is in flight; its success closes the breaker, its failure
opens it again). Settings: CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 5, "COOL_DOWN_SECONDS": 30}.

The state lives in Redis when REDIS_URL is set (every worker sees the same breaker) and in this
process otherwise (the inline demo runs everything in one process). See docs/decisions.md.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from apps.providers.models import ProviderAccount

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
PROBE_TIMEOUT = 60  # a probe whose worker died frees the slot after this many seconds
# A caller that saw the breaker closed and healthy trusts that for this long: another worker's
# opening of it reaches this caller at most FRESH seconds late (its own failures at once).
FRESH = 0.1


def _config() -> tuple[int, float]:
    config = getattr(settings, "CIRCUIT_BREAKER", {})
    return int(config.get("FAILURE_THRESHOLD", 5)), float(config.get("COOL_DOWN_SECONDS", 30))


def redis_connection():
    """The Redis that holds shared breaker and rate-limit state, or None when jobs run inline."""
    if settings.JOBS_INLINE or not settings.REDIS_URL:
        return None
    if settings.REDIS_URL not in _connections:
        import redis

        _connections[settings.REDIS_URL] = redis.Redis.from_url(settings.REDIS_URL)
    return _connections[settings.REDIS_URL]


_connections: dict[str, object] = {}


@dataclass(frozen=True)
class Snapshot:
    state: str
    failures: int
    open_until: float  # epoch seconds; 0 when closed
    read_at: float = 0.0

    def describe(self) -> str:
        if self.state == OPEN:
            left = max(0, round(self.open_until - time.time()))
            return f"open: provider failing, next probe in {left}s"
        if self.state == HALF_OPEN:
            return "half-open: probing the provider"
        return f"closed ({self.failures} recent failures)" if self.failures else "closed"


class _LocalStore:
    """Process-local state for the inline demo (one process does all the work there)."""

    lock = threading.Lock()
    states: dict[str, dict] = {}
    probes: dict[str, float] = {}

    def read(self, key: str) -> dict:
        with self.lock:
            return dict(self.states.get(key, {}))

    def write(self, key: str, mapping: dict) -> None:
        with self.lock:
            self.states.setdefault(key, {}).update(mapping)

    def add_failure(self, key: str) -> int:
        with self.lock:
            state = self.states.setdefault(key, {})
            state["failures"] = int(state.get("failures", 0)) + 1
            return state["failures"]

    def take_probe(self, key: str) -> bool:
        with self.lock:
            if self.probes.get(key, 0) > time.time():
                return False
            self.probes[key] = time.time() + PROBE_TIMEOUT
            return True

    def free_probe(self, key: str) -> None:
        with self.lock:
            self.probes.pop(key, None)


class _RedisStore:
    def __init__(self, connection):
        self.r = connection

    def read(self, key: str) -> dict:
        return {k.decode(): v.decode() for k, v in self.r.hgetall(key).items()}

    def write(self, key: str, mapping: dict) -> None:
        self.r.hset(key, mapping={k: str(v) for k, v in mapping.items()})

    def add_failure(self, key: str) -> int:
        return int(self.r.hincrby(key, "failures", 1))

    def take_probe(self, key: str) -> bool:
        return bool(self.r.set(key + ":probe", "1", nx=True, ex=PROBE_TIMEOUT))

    def free_probe(self, key: str) -> None:
        self.r.delete(key + ":probe")


class CircuitBreaker:
    def __init__(self, account_id: int, store):
        self.key = f"smsdash:breaker:{account_id}"
        self.store = store
        self.threshold, self.cool_down = _config()
        self.probing = False  # True after allow() let this caller through as the half-open probe
        self._last: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        raw = self.store.read(self.key)
        state, failures = raw.get("state", CLOSED), int(raw.get("failures", 0))
        return Snapshot(state, failures, float(raw.get("open_until", 0)), read_at=time.time())

    @property
    def state(self) -> str:
        return self.snapshot().state

    def allow(self) -> bool:
        """May we call the provider now? While open, only one caller gets through after the cool-down."""
        self.probing = False
        last = self._last
        if last is not None and last.state == CLOSED and not last.failures and time.time() - last.read_at < FRESH:
            return True  # healthy a moment ago: spare a Redis round trip per call (issue 4 benchmark)
        snap = self._last = self.snapshot()
        if snap.state == CLOSED:
            return True
        if snap.state == OPEN and time.time() < snap.open_until:
            return False
        if self.store.take_probe(self.key):
            self.store.write(self.key, {"state": HALF_OPEN})
            self.probing = True
            return True
        return False

    def retry_at(self) -> float:
        """When parked work should come back (epoch seconds): the end of the cool-down, or now."""
        snap = self.snapshot()
        return max(snap.open_until, time.time()) if snap.state != CLOSED else time.time()

    def record_success(self) -> None:
        # The usual case, closed with no failures seen by allow(), needs no second round trip.
        last = self._last
        if last is not None and last.state == CLOSED and not last.failures and time.time() - last.read_at < 1:
            return
        snap = self.snapshot()
        if snap.state != CLOSED or snap.failures:
            self.store.write(self.key, {"state": CLOSED, "failures": 0, "open_until": 0})
            self.store.free_probe(self.key)

    def record_failure(self) -> None:
        self._last = None  # the next allow() reads the shared state again
        failures = self.store.add_failure(self.key)
        if self.state == HALF_OPEN or failures >= self.threshold:
            self.store.write(self.key, {"state": OPEN, "open_until": time.time() + self.cool_down})
            self.store.free_probe(self.key)

    def reset(self) -> None:
        self.store.write(self.key, {"state": CLOSED, "failures": 0, "open_until": 0})
        self.store.free_probe(self.key)


def breaker_for(account: ProviderAccount | int) -> CircuitBreaker:
    account_id = account if isinstance(account, int) else account.pk
    connection = redis_connection()
    return CircuitBreaker(account_id, _RedisStore(connection) if connection is not None else _LocalStore())
