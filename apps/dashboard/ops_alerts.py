"""Operational alerts: background work that stopped or fell behind, sent through the drop alerts'
e-mail and webhook channels (alerts.notify_channels).

What is judged on each check:
- no_worker: Redis answers, but no rq worker has beaten for OPS_WORKER_SILENT_SECONDS;
- redis: Redis does not answer, so no worker can take a job;
- backlog:<account>: the account's oldest pending report is older than OPS_ALERT_BACKLOG_MINUTES;
- breaker:<account>: its circuit breaker has not been closed for OPS_ALERT_BREAKER_OPEN_MINUTES.

The check runs every minute from rq's cron (smsdash/cron.py) and from `manage.py ops_watch`, a
process that needs no worker: a check queued for a worker cannot say that no worker is alive.
Each problem is one OpsIncident: the check that opens it sends the alert, the check that finds it
gone clears it and sends the recovery note, so each goes out once per incident whichever checker
runs (the partial unique constraint and a conditional update decide between two at once). What
cannot be judged (breakers and workers while Redis is away) keeps its incidents open: not knowing
is not a recovery.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.timesince import timesince

from apps.dashboard import health
from apps.dashboard.alerts import notify_channels
from apps.dashboard.models import OpsIncident, OpsKind
from apps.providers.models import ProviderAccount

logger = logging.getLogger(__name__)

CHECK_SECONDS = 60
PANEL_PATH = "/admin/dashboard/health/"
NO_WORKER = "No rq worker alive"
NO_WORKER_DETAIL = (
    "No worker has sent a heartbeat for {seconds} s ({listed} listed, all silent). Conversions are not "
    "reported and syncs do not run until one starts: manage.py rqworker default reports sync "
    "--with-scheduler --worker-class smsdash.worker.ResilientWorker"
)
REDIS_AWAY = "Redis unreachable"
BACKLOG = "Reports waiting over {minutes} minutes: {account} ({provider})"
BACKLOG_DETAIL = (
    "{pending} conversion report(s) pending for {account} ({provider}); the oldest was accepted {age} ago, "
    "at {oldest:%Y-%m-%d %H:%M:%S} UTC; {held} held by dead workers."
)
BREAKER = "Breaker open over {minutes} minutes: {account} ({provider})"
BREAKER_DETAIL = (
    "The circuit breaker of {account} ({provider}) has not been closed since {since:%Y-%m-%d %H:%M:%S} UTC "
    "({age}); it is {state} now. Last transition: {reason}. Reports to this provider wait for a probe to succeed."
)
RECOVERED = "Recovered: {summary}"
RECOVERED_DETAIL = (
    "{summary}: first seen {opened:%Y-%m-%d %H:%M:%S} UTC, cleared {cleared:%Y-%m-%d %H:%M:%S} UTC ({took})."
)
ALERT_LOG = "operational alert: %s (account %s, provider %s): %s"
RECOVERY_LOG = "operational alert cleared: %s (account %s, provider %s)"


@dataclass(frozen=True)
class Condition:
    key: str
    kind: str
    summary: str
    detail: str
    account: ProviderAccount | None = None


def ops_check_job() -> None:
    """The periodic check (smsdash/cron.py and ops_watch)."""
    ops_check()


def ops_check(*, now: datetime | None = None) -> None:
    """Open (and alert) each new problem, clear (and note the recovery of) each one gone."""
    now = now or timezone.now()
    found, judged = conditions(now)
    for condition in found:
        incident_open(condition, now=now)
    still_open = OpsIncident.objects.filter(cleared_at__isnull=True, kind__in=judged)
    for incident in still_open.exclude(key__in=[c.key for c in found]):
        incident_clear(incident, now=now)


def conditions(now: datetime) -> tuple[list[Condition], set[str]]:
    """What is wrong now, and which kinds of problem could be judged at all."""
    queues = health.queue_health(now=now)
    found = _queue_conditions(queues)
    judged = {OpsKind.BACKLOG.value}
    if queues.mode == health.UNREACHABLE:
        judged.add(OpsKind.REDIS.value)
    else:
        judged |= {OpsKind.NO_WORKER.value, OpsKind.REDIS.value, OpsKind.BREAKER.value}
    for row in health.accounts(with_breakers=health.breakers_readable(queues)):
        found.extend(_account_conditions(row, now))
    return found, judged


def _queue_conditions(queues: health.QueueHealth) -> list[Condition]:
    if queues.mode == health.UNREACHABLE:
        return [Condition("redis", OpsKind.REDIS, REDIS_AWAY, queues.error)]
    if queues.mode == health.ONLINE and not queues.alive_workers:
        detail = NO_WORKER_DETAIL.format(seconds=settings.OPS_WORKER_SILENT_SECONDS, listed=len(queues.workers))
        return [Condition("no_worker", OpsKind.NO_WORKER, NO_WORKER, detail)]
    return []


def _account_conditions(row: health.AccountHealth, now: datetime) -> list[Condition]:
    account, found = row.account, []
    names = {"account": account.name, "provider": account.get_provider_display()}
    minutes = settings.OPS_ALERT_BACKLOG_MINUTES
    if health.older_than(row.oldest_pending, minutes, now):
        age = timesince(row.oldest_pending, now)
        detail = BACKLOG_DETAIL.format(
            pending=row.pending, age=age, oldest=row.oldest_pending, held=row.held_by_dead, **names
        )
        summary = BACKLOG.format(minutes=minutes, **names)
        found.append(Condition(f"backlog:{account.pk}", OpsKind.BACKLOG, summary, detail, account))
    minutes, since = settings.OPS_ALERT_BREAKER_OPEN_MINUTES, row.breaker_since
    if health.older_than(since, minutes, now):
        last = row.breaker["transitions"][0]["reason"] if row.breaker["transitions"] else "none kept"
        detail = BREAKER_DETAIL.format(
            since=since, age=timesince(since, now), state=row.breaker_label, reason=last, **names
        )
        summary = BREAKER.format(minutes=minutes, **names)
        found.append(Condition(f"breaker:{account.pk}", OpsKind.BREAKER, summary, detail, account))
    return found


def incident_open(condition: Condition, *, now: datetime) -> OpsIncident | None:
    """Record a new problem and alert; None when it is already open (alerted before)."""
    if OpsIncident.objects.filter(key=condition.key, cleared_at__isnull=True).exists():
        return None
    try:
        with transaction.atomic():
            incident = OpsIncident.objects.create(
                key=condition.key,
                kind=condition.kind,
                account=condition.account,
                summary=condition.summary,
                detail=condition.detail,
                opened_at=now,
            )
    except IntegrityError:  # another checker opened it a moment ago, and alerts
        return None
    provider = condition.account.provider if condition.account else "-"
    logger.warning(ALERT_LOG, incident.summary, condition.account or "-", provider, incident.detail)
    errors = notify_channels(f"[smsdash] {incident.summary}", _body(incident.detail), _payload(incident, "firing"))
    OpsIncident.objects.filter(pk=incident.pk).update(notified_at=timezone.now(), notify_error=" ".join(errors))
    return incident


def incident_clear(incident: OpsIncident, *, now: datetime) -> bool:
    """Close a problem that is gone and send its recovery note; False when another checker did."""
    if OpsIncident.objects.filter(pk=incident.pk, cleared_at__isnull=True).update(cleared_at=now) != 1:
        return False
    incident.cleared_at = now
    account = incident.account
    logger.info(RECOVERY_LOG, incident.summary, account or "-", account.provider if account else "-")
    took = timesince(incident.opened_at, now)
    detail = RECOVERED_DETAIL.format(summary=incident.summary, opened=incident.opened_at, cleared=now, took=took)
    errors = notify_channels(
        "[smsdash] " + RECOVERED.format(summary=incident.summary), _body(detail), _payload(incident, "recovered")
    )
    error = " ".join(filter(None, [incident.notify_error, *errors]))
    OpsIncident.objects.filter(pk=incident.pk).update(recovery_notified_at=timezone.now(), notify_error=error)
    return True


def _body(detail: str) -> str:
    return f"{detail}\n\nThe health panel shows the details: {PANEL_PATH}"


def _payload(incident: OpsIncident, state: str) -> dict:
    account = incident.account
    return {
        "text": incident.summary if state == "firing" else RECOVERED.format(summary=incident.summary),
        "state": state,
        "kind": incident.kind,
        "account": account.name if account else None,
        "provider": account.provider if account else None,
        "detail": incident.detail,
        "opened_at": incident.opened_at.isoformat(),
        "cleared_at": incident.cleared_at.isoformat() if incident.cleared_at else None,
    }
