"""What the health panel shows: is background work running, and what is it holding back.

Read-only selectors over three sources, each read with its own failure kept to itself, so a
Redis outage still shows the database's figures and says that Redis is away:
- rq's registries in Redis: workers (alive when their heartbeat is recent: a killed worker's key
  outlives it by its TTL, up to 8 minutes, and rq still lists it as busy), the scheduler lock's
  holder and its heartbeat, rq's cron process;
- the database: pending reports per account, their oldest, rows held by dead workers' claims;
- the circuit breakers (apps/providers/breaker.py): state, since when, the last transitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.utils import utcparse
from rq.worker_registration import clean_worker_registry

from apps.messaging.admin_filters import held_by_dead_workers
from apps.messaging.models import Conversion, ReportState
from apps.providers.breaker import CLOSED, breaker_status
from apps.providers.models import ProviderAccount
from smsdash.worker import REDIS_DOWN, SCHEDULER_SILENT_SECONDS

INLINE, ONLINE, UNREACHABLE = "inline", "online", "unreachable"
REDIS_TIMEOUT = 2  # seconds: a page must not hang on a Redis that does not answer
CRON_SILENT_SECONDS = 90  # rq's cron beats at least every 60 s (more often with 10 s jobs)
JOBS_INLINE = "Jobs run inline: REDIS_URL is not set, so there are no workers, scheduler or queue to watch."
REDIS_AWAY = "Redis does not answer ({error}): no worker can take a job, and their state cannot be read."


@dataclass(frozen=True)
class WorkerRow:
    name: str
    hostname: str
    pid: int | None
    queues: str
    state: str  # rq's state; "dead" once silent for OPS_WORKER_SILENT_SECONDS, whatever rq says
    job_id: str
    last_heartbeat: datetime | None
    alive: bool


@dataclass(frozen=True)
class SchedulerRow:
    name: str  # the scheduler (or cron) process's name; "" when nobody holds the lock
    queues: str
    hostname: str
    pid: int | None
    last_heartbeat: datetime | None
    alive: bool


@dataclass
class QueueHealth:
    mode: str
    error: str = ""
    workers: list[WorkerRow] = field(default_factory=list)
    schedulers: list[SchedulerRow] = field(default_factory=list)
    crons: list[SchedulerRow] = field(default_factory=list)

    @property
    def alive_workers(self) -> int:
        return sum(w.alive for w in self.workers)

    @property
    def dead_workers(self) -> int:
        return len(self.workers) - self.alive_workers

    @property
    def scheduler_alive(self) -> bool:
        return bool(self.schedulers) and all(s.alive for s in self.schedulers)

    @property
    def cron_alive(self) -> bool:
        return any(c.alive for c in self.crons)

    @property
    def message(self) -> str:
        return JOBS_INLINE if self.mode == INLINE else self.error


def panel_connection() -> redis.Redis:
    """A connection with timeouts, to the Redis the queues use."""
    url = settings.RQ_QUEUES["default"]["URL"]
    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)


def queue_health(*, now: datetime | None = None) -> QueueHealth:
    if settings.JOBS_INLINE:
        return QueueHealth(mode=INLINE)
    now = now or timezone.now()
    try:
        connection = panel_connection()
    except ValueError as error:  # a malformed URL: say so rather than fail the page
        return QueueHealth(mode=UNREACHABLE, error=REDIS_AWAY.format(error=error))
    try:
        connection.ping()
        return QueueHealth(
            mode=ONLINE,
            workers=workers(connection, now),
            schedulers=schedulers(connection, now),
            crons=crons(connection, now),
        )
    except REDIS_DOWN as error:
        return QueueHealth(mode=UNREACHABLE, error=REDIS_AWAY.format(error=error))
    finally:
        connection.close()


def _recent(beat: datetime | None, now: datetime, seconds: float) -> bool:
    return beat is not None and (now - beat).total_seconds() <= seconds


def workers(connection: redis.Redis, now: datetime) -> list[WorkerRow]:
    """rq's workers, registry cleaned of expired keys; a silent one is listed dead, never busy.

    A silent worker's key is not deleted here: one just back from a Redis outage would beat again
    on a key no registry lists, and vanish from this panel while it works."""
    for name in settings.RQ_QUEUES:
        clean_worker_registry(Queue(name, connection=connection))
    rows = []
    for worker in Worker.all(connection=connection):
        alive = _recent(worker.last_heartbeat, now, settings.OPS_WORKER_SILENT_SECONDS)
        raw_state = worker.get_state()
        state = str(getattr(raw_state, "value", raw_state))
        rows.append(
            WorkerRow(
                name=worker.name,
                hostname=worker.hostname or "",
                pid=worker.pid,
                queues=", ".join(worker.queue_names()),
                state=state if alive else "dead",
                job_id=(worker.get_current_job_id() or "") if alive and state == "busy" else "",
                last_heartbeat=worker.last_heartbeat,
                alive=alive,
            )
        )
    return sorted(rows, key=lambda w: (not w.alive, w.name))


def schedulers(connection: redis.Redis, now: datetime) -> list[SchedulerRow]:
    """Who holds each queue's scheduler lock, and whether that scheduler still beats."""
    holders: dict[str, list[str]] = {}
    for name in settings.RQ_QUEUES:
        holder = connection.get(RQScheduler.get_locking_key(name))
        holders.setdefault(holder.decode() if holder else "", []).append(name)
    rows = []
    for holder, queues in sorted(holders.items()):
        info = {k.decode(): v.decode() for k, v in connection.hgetall(SCHEDULER_KEY_TEMPLATE % holder).items()}
        beat = utcparse(info["last_heartbeat"]) if info.get("last_heartbeat") else None
        alive = bool(holder) and _recent(beat, now, SCHEDULER_SILENT_SECONDS)
        pid = int(info["pid"]) if info.get("pid") else None
        rows.append(SchedulerRow(holder, ", ".join(queues), info.get("hostname", ""), pid, beat, alive))
    return rows


def crons(connection: redis.Redis, now: datetime) -> list[SchedulerRow]:
    """rq's cron processes (`manage.py rqcron smsdash.cron`): they enqueue the sweeps and checks."""
    rows = []
    for cron in CronScheduler.all(connection):
        beat = cron.last_heartbeat  # a property: reading it asks Redis for the registry score
        rows.append(
            SchedulerRow(cron.name, "", cron.hostname or "", cron.pid, beat, _recent(beat, now, CRON_SILENT_SECONDS))
        )
    return rows


@dataclass
class AccountHealth:
    account: ProviderAccount
    pending: int = 0
    oldest_pending: datetime | None = None
    held_by_dead: int = 0
    breaker: dict | None = None  # breaker_status(); None when it cannot be read (Redis away)

    @property
    def breaker_label(self) -> str:
        return self.breaker["state"].replace("_", "-") if self.breaker else ""

    @property
    def breaker_since(self) -> datetime | None:
        return open_since(self.breaker) if self.breaker else None


def backlog() -> dict[int, dict]:
    """{account id: pending, oldest_pending, held_by_dead}: one grouped query over pending rows
    (the partial index conversion_pending keeps it to the backlog, however big the table)."""
    rows = (
        Conversion.objects.filter(report_state=ReportState.PENDING)
        .values("message__account_id")
        .annotate(
            pending=Count("pk"),
            oldest_pending=Min("created_at"),
            held_by_dead=Count("pk", filter=held_by_dead_workers()),
        )
    )
    return {row.pop("message__account_id"): row for row in rows}


def accounts(*, with_breakers: bool = True) -> list[AccountHealth]:
    """Every active account and any other with pending reports, with its backlog and breaker."""
    pending = backlog()
    listed = ProviderAccount.objects.filter(Q(is_active=True) | Q(pk__in=list(pending))).order_by("provider", "name")
    rows = []
    for account in listed:
        row = AccountHealth(account=account, **pending.get(account.pk, {}))
        if with_breakers:
            row.breaker = breaker_status(account)
        rows.append(row)
    return rows


def open_since(status: dict) -> datetime | None:
    """When the breaker's current spell away from closed began: the last opening from closed in
    the kept transitions, or, in a spell longer than they reach, the oldest one kept."""
    if status["state"] == CLOSED:
        return None
    spell = []
    for transition in status["transitions"]:  # newest first
        if transition["to"] == CLOSED:
            break
        spell.append(transition)
        if transition["from"] == CLOSED:
            break
    if spell:
        return spell[-1]["at"]
    return status["opened_at"]


def breakers_readable(queues: QueueHealth) -> bool:
    """Inline, breakers live in this process; with Redis, only while it answers."""
    return queues.mode != UNREACHABLE


@dataclass
class Summary:
    queues: QueueHealth
    accounts: list[AccountHealth]

    @property
    def pending(self) -> int:
        return sum(a.pending for a in self.accounts)

    @property
    def oldest_pending(self) -> datetime | None:
        return min((a.oldest_pending for a in self.accounts if a.oldest_pending), default=None)

    @property
    def held_by_dead(self) -> int:
        return sum(a.held_by_dead for a in self.accounts)

    @property
    def backlog_late(self) -> bool:
        return older_than(self.oldest_pending, settings.OPS_ALERT_BACKLOG_MINUTES, timezone.now())

    @property
    def breakers_open(self) -> list[AccountHealth]:
        return [a for a in self.accounts if a.breaker and a.breaker["state"] != CLOSED]


def summary(*, now: datetime | None = None) -> Summary:
    """Everything the panel shows; the admin index and the accounts list show its headline figures."""
    queues = queue_health(now=now)
    return Summary(queues=queues, accounts=accounts(with_breakers=breakers_readable(queues)))


def older_than(moment: datetime | None, minutes: float, now: datetime) -> bool:
    return moment is not None and now - moment > timedelta(minutes=minutes)
