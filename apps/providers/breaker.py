"""One circuit breaker per provider account, shared by every process that calls the provider.

    breaker = breaker_for(account)
    if breaker.allow():              # False while open; True for the one probe after the cool-down
        try:
            result = client.report_conversion(...)
        except ProviderError as error:
            breaker.record_call(error)   # what the error means is decided here, by outcome_of()
        else:
            breaker.record_call(None)
    else:
        park the work until breaker.retry_at()

(apps/providers/outcomes.py feeds the outcome to the breaker and the rate limit in one call.)

What an outcome means (outcome_of), for every caller alike:
- SUCCESS: the provider answered, even with a refusal of the request (auth, invalid,
  unsupported: the provider is up, the request or account is wrong). Resets the consecutive
  failure count; the half-open probe's success closes the breaker.
- FAILURE: unreachable, timed out, 5xx. Counted; the FAILURE_THRESHOLD-th consecutive one opens
  the breaker; the probe's failure opens it again.
- THROTTLED: the provider is up and rate limiting us. Neither counted nor a reset: the probe slot
  is released at once and the rate limit backs off instead.
- OWN_ERROR: our side failed without an answer (a bug, an unclassified exception). No verdict on
  the provider: the probe slot is released, nothing else.

States: closed (calls go through, consecutive failures counted), open (no calls until the
cool-down ends), half_open (one probe at a time; its success closes the breaker, its failure opens
it again). Every transition is logged once, by the process that made it, and kept (the last
TRANSITIONS_KEPT, with their time and reason) for breaker_status(). Settings:
CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 5, "COOL_DOWN_SECONDS": 30}.

The state lives in Redis when REDIS_URL is set (every worker sees the same breaker) and in this
process otherwise (the inline demo runs everything in one process). Each change is one
read-decide-write under WATCH/MULTI (a lock inline), so concurrent workers count every failure
and exactly one of them makes (and logs) each transition. See docs/decisions.md.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

import redis
from django.conf import settings

from apps.providers.clients.base import ErrorKind, ProviderError
from apps.providers.models import ProviderAccount

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
PROBE_TIMEOUT = 60  # a probe whose worker died frees the slot after this many seconds
# A caller that saw the breaker closed and healthy trusts that for this long: another worker's
# opening of it reaches this caller at most FRESH seconds late (its own failures at once).
FRESH = 0.1
TRANSITIONS_KEPT = 20

OPENED_REASON = "{count} consecutive failures, the last: {error}"
PROBE_FAILED_REASON = "the probe failed: {error}"
PROBE_SUCCEEDED_REASON = "the probe succeeded"
COOL_DOWN_REASON = "the {seconds:g} s cool-down ended: one probe goes through"
RESET_REASON = "reset by hand"


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    THROTTLED = "throttled"
    OWN_ERROR = "own_error"


def outcome_of(error: BaseException | None) -> Outcome:
    """The one rule for what a provider call's ending means to the breaker (module docstring)."""
    if error is None:
        return Outcome.SUCCESS
    if not isinstance(error, ProviderError):
        return Outcome.OWN_ERROR
    if error.kind == ErrorKind.TRANSIENT:
        return Outcome.FAILURE
    if error.kind == ErrorKind.THROTTLED:
        return Outcome.THROTTLED
    return Outcome.SUCCESS  # auth, invalid, unsupported: an answer, so the provider is up


def _config() -> tuple[int, float]:
    config = getattr(settings, "CIRCUIT_BREAKER", {})
    return int(config.get("FAILURE_THRESHOLD", 5)), float(config.get("COOL_DOWN_SECONDS", 30))


def redis_connection():
    """The Redis that holds shared breaker and rate-limit state, or None when jobs run inline."""
    if settings.JOBS_INLINE or not settings.REDIS_URL:
        return None
    if settings.REDIS_URL not in _connections:
        _connections[settings.REDIS_URL] = redis.Redis.from_url(settings.REDIS_URL)
    return _connections[settings.REDIS_URL]


_connections: dict[str, object] = {}


@dataclass(frozen=True)
class Snapshot:
    state: str = CLOSED
    failures: int = 0  # consecutive failures; only ever non-zero while closed
    open_until: float = 0.0  # epoch seconds; 0 when closed
    opened_at: float = 0.0  # epoch seconds of the last opening, kept after it closes
    probe: str = ""  # the token of the caller probing while half-open
    probe_until: float = 0.0  # after this the probe's caller is taken for dead
    read_at: float = 0.0

    @classmethod
    def load(cls, raw: dict[str, str], read_at: float) -> Snapshot:
        return cls(
            state=raw.get("state", CLOSED),
            failures=int(raw.get("failures", 0)),
            open_until=float(raw.get("open_until", 0)),
            opened_at=float(raw.get("opened_at", 0)),
            probe=raw.get("probe", ""),
            probe_until=float(raw.get("probe_until", 0)),
            read_at=read_at,
        )

    def dump(self) -> dict[str, str]:
        return {name: str(value) for name, value in asdict(self).items() if name != "read_at"}

    def healthy(self) -> bool:
        return self.state == CLOSED and not self.failures

    def probe_taken(self, now: float) -> bool:
        return bool(self.probe) and self.probe_until > now

    def describe(self) -> str:
        if self.state == OPEN:
            left = max(0, round(self.open_until - time.time()))
            return f"open: provider failing, next probe in {left}s"
        if self.state == HALF_OPEN:
            return "half-open: probing the provider"
        return f"closed ({self.failures} recent failures)" if self.failures else "closed"


@dataclass(frozen=True)
class Transition:
    at: float
    before: str
    after: str
    reason: str

    def dump(self) -> str:
        return json.dumps(asdict(self))


# A change reads the current state and answers (new state, transition or None, value for the caller).
Change = Callable[[Snapshot], tuple[Snapshot, Transition | None, object]]


class _LocalStore:
    """Process-local state for the inline demo (one process does all the work there)."""

    lock = threading.Lock()
    states: dict[str, Snapshot] = {}
    transitions: dict[str, list[Transition]] = {}

    def read(self, key: str) -> Snapshot:
        with self.lock:
            return replace(self.states.get(key, Snapshot()), read_at=time.time())

    def apply(self, key: str, change: Change) -> tuple[Transition | None, object]:
        with self.lock:
            new, transition, value = change(self.states.get(key, Snapshot()))
            self.states[key] = new
            if transition:
                self.transitions[key] = [transition, *self.transitions.get(key, [])][:TRANSITIONS_KEPT]
            return transition, value

    def clear_failures(self, key: str) -> None:
        with self.lock:
            # failures is non-zero only while closed, so this is the SUCCESS rule for a non-probe
            self.states[key] = replace(self.states.get(key, Snapshot()), failures=0)

    def history(self, key: str) -> list[Transition]:
        with self.lock:
            return list(self.transitions.get(key, []))


class _RedisStore:
    def __init__(self, connection):
        self.r = connection

    def read(self, key: str) -> Snapshot:
        return Snapshot.load(_decode(self.r.hgetall(key)), time.time())

    def apply(self, key: str, change: Change) -> tuple[Transition | None, object]:
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    current = Snapshot.load(_decode(pipe.hgetall(key)), time.time())
                    new, transition, value = change(current)
                    pipe.multi()
                    pipe.hset(key, mapping=new.dump())
                    if transition:
                        pipe.lpush(key + ":transitions", transition.dump())
                        pipe.ltrim(key + ":transitions", 0, TRANSITIONS_KEPT - 1)
                    pipe.execute()  # WatchError when another worker changed the state meanwhile
                    return transition, value
                except redis.WatchError:
                    continue

    def clear_failures(self, key: str) -> None:
        # A success is the hot path (every report): one command, no WATCH (about 45 us of CPU, a
        # pipeline reading the state back cost 65). failures is non-zero only while closed, so
        # writing 0 in any state is the SUCCESS rule for a non-probe.
        self.r.hset(key, "failures", 0)

    def history(self, key: str) -> list[Transition]:
        return [Transition(**json.loads(item)) for item in self.r.lrange(key + ":transitions", 0, -1)]


def _decode(raw: dict) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


class CircuitBreaker:
    def __init__(self, account_id: int, store, *, label: str = ""):
        self.key = f"smsdash:breaker:{account_id}"
        self.store = store
        self.label = label or f"account {account_id}"  # for the log: account and provider
        self.threshold, self.cool_down = _config()
        self.probing = False  # True after allow() let this caller through as the half-open probe
        self._token = ""
        self._last: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        return self.store.read(self.key)

    @property
    def state(self) -> str:
        return self.snapshot().state

    def allow(self) -> bool:
        """May we call the provider now? While open, one caller at a time gets through after the cool-down."""
        self.probing = False
        last = self._last
        if last is not None and last.healthy() and time.time() - last.read_at < FRESH:
            return True  # healthy a moment ago: spare a Redis round trip per call (issue 4 benchmark)
        snap = self._last = self.snapshot()
        now = time.time()
        if snap.state == CLOSED:
            return True
        if (snap.state == OPEN and now < snap.open_until) or (snap.state == HALF_OPEN and snap.probe_taken(now)):
            return False
        token = uuid.uuid4().hex
        if self._change(lambda current: self._take_probe(current, token)):
            self.probing, self._token, self._last = True, token, None
        return self.probing

    def retry_at(self) -> float:
        """When parked work should come back (epoch seconds): the end of the cool-down, or now."""
        snap = self.snapshot()
        return max(snap.open_until, time.time()) if snap.state != CLOSED else time.time()

    def record_call(self, error: BaseException | None) -> Outcome:
        """Record how one provider call ended (None: it answered) and say what that meant."""
        outcome = outcome_of(error)
        self.record(outcome, reason="" if error is None else _describe(error))
        return outcome

    def record(self, outcome: Outcome, *, reason: str = "") -> None:
        probing, token = self.probing, self._token
        self.probing = False  # one outcome per probe
        if outcome == Outcome.SUCCESS and not probing:
            self.store.clear_failures(self.key)
            last = self._last
            if last is not None and last.state == CLOSED:  # still trusted only FRESH from its read
                self._last = replace(last, failures=0)
            return
        self._last = None  # the next allow() reads the shared state again
        if outcome == Outcome.SUCCESS:
            self._change(lambda current: self._succeeded(current, token))
        elif outcome == Outcome.FAILURE:
            self._change(lambda current: self._failed(current, token if probing else "", reason))
        elif probing:  # throttled or our own error: no verdict, but the next caller may probe at once
            self._change(lambda current: self._release(current, token))

    def record_success(self) -> None:
        self.record(Outcome.SUCCESS)

    def record_failure(self, reason: str = "") -> None:
        self.record(Outcome.FAILURE, reason=reason)

    def reset(self) -> None:
        self._last = None
        self._change(lambda c: (Snapshot(opened_at=c.opened_at), self._moved(c, CLOSED, RESET_REASON), None))

    # The rule of each change: (current state) -> (new state, transition, value for the caller).
    def _take_probe(self, current: Snapshot, token: str):
        now = time.time()
        if current.state == CLOSED or (current.state == OPEN and now < current.open_until):
            return current, None, False
        if current.state == HALF_OPEN and current.probe_taken(now):
            return current, None, False
        moved = self._moved(current, HALF_OPEN, COOL_DOWN_REASON.format(seconds=self.cool_down), now)
        return replace(current, state=HALF_OPEN, probe=token, probe_until=now + PROBE_TIMEOUT), moved, True

    def _succeeded(self, current: Snapshot, token: str):
        if current.state == HALF_OPEN and current.probe == token:
            closed = Snapshot(opened_at=current.opened_at)  # when it last opened stays for the panel
            return closed, self._moved(current, CLOSED, PROBE_SUCCEEDED_REASON), None
        return replace(current, failures=0), None, None  # a late answer to a call made before opening

    def _failed(self, current: Snapshot, token: str, error: str):
        now = time.time()
        opened = replace(Snapshot(), state=OPEN, open_until=now + self.cool_down, opened_at=now)
        if current.state == HALF_OPEN and token and current.probe == token:
            return opened, self._moved(current, OPEN, PROBE_FAILED_REASON.format(error=error), now), None
        if current.state != CLOSED:
            return current, None, None  # a call made before opening: the probe decides now
        failures = current.failures + 1
        if failures < self.threshold:
            return replace(current, failures=failures), None, None
        return opened, self._moved(current, OPEN, OPENED_REASON.format(count=failures, error=error), now), None

    def _release(self, current: Snapshot, token: str):
        if current.state == HALF_OPEN and current.probe == token:
            return replace(current, probe="", probe_until=0.0), None, None
        return current, None, None

    def _moved(self, current: Snapshot, after: str, reason: str, now: float = 0.0) -> Transition | None:
        return Transition(now or time.time(), current.state, after, reason) if current.state != after else None

    def _change(self, change: Change) -> object:
        transition, value = self.store.apply(self.key, change)
        if transition:
            level = logging.WARNING if transition.after == OPEN else logging.INFO
            logger.log(level, "circuit breaker of %s: %s -> %s: %s", self.label, transition.before,
                       transition.after, transition.reason)  # fmt: skip
        return value


def _describe(error: BaseException) -> str:
    kind = getattr(error, "kind", type(error).__name__)
    return f"{kind}: {error}"


def _store():
    connection = redis_connection()
    return _RedisStore(connection) if connection is not None else _LocalStore()


def breaker_for(account: ProviderAccount | int) -> CircuitBreaker:
    if isinstance(account, int):
        return CircuitBreaker(account, _store())
    label = f"{account.get_provider_display()} account {account.pk} ({account.name})"
    return CircuitBreaker(account.pk, _store(), label=label)


def breaker_status(account: ProviderAccount | int) -> dict:
    """What an operator panel shows: state, consecutive failures, when it last opened, when the
    next probe may go, and the last transitions (newest first) with their time and reason."""
    breaker = breaker_for(account)
    snap = breaker.snapshot()
    return {
        "state": snap.state,
        "failures": snap.failures,
        "opened_at": _moment(snap.opened_at),
        "open_until": _moment(snap.open_until) if snap.state == OPEN else None,
        "probe_in_flight": snap.state == HALF_OPEN and snap.probe_taken(time.time()),
        "transitions": [
            {"at": _moment(t.at), "from": t.before, "to": t.after, "reason": t.reason}
            for t in breaker.store.history(breaker.key)
        ],
    }


def _moment(epoch: float) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None
