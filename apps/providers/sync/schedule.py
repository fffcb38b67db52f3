"""When syncs start: every account.sync_interval_minutes (default 5) by the cron job, or now from
the admin. Both only enqueue; the lock in the engine refuses a run while one of its kind runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from apps.providers.models import ProviderAccount, SyncKind, SyncRun, SyncStatus
from apps.providers.sync import locks
from smsdash.queue import enqueue

SYNC_QUEUE = "sync"
# A first sync of a large backlog takes minutes; past this rq stops it and the next run resumes it.
SYNC_JOB_TIMEOUT = 3600


def kinds_for(account: ProviderAccount) -> list[str]:
    return [SyncKind.DELIVERY, SyncKind.TEMPLATES] if account.has_template_api else [SyncKind.DELIVERY]


def sync_request(*, account: ProviderAccount, kind: str, ids: list[int] | None = None, trigger: str = "admin") -> None:
    """Start a sync in the background (after commit); ids limits it to those messages or templates."""
    if kind == SyncKind.DELIVERY:
        from apps.messaging.delivery.jobs import delivery_sync_job

        enqueue(delivery_sync_job, account.pk, ids, trigger, queue=SYNC_QUEUE, job_timeout=SYNC_JOB_TIMEOUT)
    else:
        from apps.providers.sync.jobs import template_review_sync_job

        enqueue(template_review_sync_job, account.pk, ids, trigger, queue=SYNC_QUEUE, job_timeout=SYNC_JOB_TIMEOUT)


def due_syncs(now: datetime | None = None) -> list[tuple[ProviderAccount, str]]:
    """(account, kind) pairs whose last run started at least sync_interval_minutes ago (or never)
    and is not still running."""
    now = now or timezone.now()
    last = {
        (row["account"], row["kind"]): row["last"]
        for row in SyncRun.objects.values("account", "kind").annotate(last=Max("started_at"))
    }
    alive = now - timedelta(seconds=locks.LOCK_TTL)
    running = set(
        SyncRun.objects.filter(status=SyncStatus.RUNNING, heartbeat_at__gte=alive).values_list("account", "kind")
    )
    due = []
    for account in ProviderAccount.objects.filter(is_active=True):
        interval = timedelta(minutes=account.sync_interval_minutes or 5)
        for kind in kinds_for(account):
            started = last.get((account.pk, kind))
            if (account.pk, kind) not in running and (started is None or started <= now - interval):
                due.append((account, kind))
    return due


def sync_schedule(now: datetime | None = None) -> int:
    """Enqueue every due sync; returns how many were enqueued."""
    due = due_syncs(now)
    for account, kind in due:
        sync_request(account=account, kind=kind, trigger="schedule")
    return len(due)


RUN_HISTORY = timedelta(days=30)


def sync_runs_purge(now: datetime | None = None) -> int:
    """Forget finished runs older than RUN_HISTORY (a run every 5 minutes is 576 rows a day per account)."""
    cutoff = (now or timezone.now()) - RUN_HISTORY
    deleted, _ = SyncRun.objects.filter(started_at__lt=cutoff).exclude(status=SyncStatus.RUNNING).delete()
    return deleted
