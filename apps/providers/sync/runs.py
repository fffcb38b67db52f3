"""SyncRun records: claim a run (refusing overlap, taking over a crashed one), count progress,
and finish it with a reason an operator understands."""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.providers.clients.base import ErrorKind, ProviderError
from apps.providers.models import ProviderAccount, SyncRun, SyncStatus
from apps.providers.sync import locks

INTERRUPTED_REASON = "The worker stopped in the middle of this run (crash, restart or timeout); run #{run} resumed it."
AUTH_REASON = (
    "{provider} refused the credentials of {account}: {error}. Check the key ID and secret on the account page."
)
INVALID_REASON = "{provider} rejected the request as invalid: {error}."
THROTTLED_REASON = (
    "{provider} kept throttling the requests after {attempts} tries: {error}. The next run resumes where this stopped."
)
TRANSIENT_REASON = (
    "{provider} could not be reached after {attempts} tries: {error}. The next run resumes where this stopped."
)
UNSUPPORTED_REASON = "{provider} does not offer this: {error}."
CIRCUIT_OPEN_REASON = (
    "Stopped because {provider} has been failing for {account} (circuit breaker open, next try in {seconds} s). "
    "The next run resumes where this stopped."
)
SKIPPED_REASON = "Finished, but the provider refused {count} item(s) as invalid, so they were skipped: {items}."
UNEXPECTED_REASON = "Stopped by an unexpected error ({error_type}): {error}. The next run resumes where this stopped."

REASONS = {
    ErrorKind.AUTH: AUTH_REASON,
    ErrorKind.INVALID: INVALID_REASON,
    ErrorKind.THROTTLED: THROTTLED_REASON,
    ErrorKind.TRANSIENT: TRANSIENT_REASON,
    ErrorKind.UNSUPPORTED: UNSUPPORTED_REASON,
}


class RunLost(Exception):
    """Our run was taken over (its lock expired and another run marked it interrupted): stop."""


def run_begin(*, account: ProviderAccount, kind: str, scope: dict, trigger: str, lock_shared: bool) -> SyncRun | None:
    """Start a run, or None when one of this kind is already running for the account.

    lock_shared: the caller holds the Redis lock, so any run still marked running is dead.
    """
    now = timezone.now()
    with transaction.atomic():
        running = SyncRun.objects.select_for_update().filter(account=account, kind=kind, status=SyncStatus.RUNNING)
        for previous in running:
            alive = (previous.heartbeat_at or previous.started_at) > now - timedelta(seconds=locks.LOCK_TTL)
            if alive and not lock_shared:
                return None
            previous.status, previous.finished_at = SyncStatus.INTERRUPTED, now
            previous.save(update_fields=["status", "finished_at"])
        resumed = _resumable(account, kind) if not scope else None
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(
                    account=account,
                    kind=kind,
                    scope=scope,
                    trigger=trigger,
                    heartbeat_at=now,
                    cursor=resumed.cursor if resumed else {},
                    resumed_from=resumed,
                )
        except IntegrityError:
            return None  # another worker started one a moment ago
        if resumed is not None and resumed.status == SyncStatus.INTERRUPTED:
            SyncRun.objects.filter(pk=resumed.pk).update(failure_reason=INTERRUPTED_REASON.format(run=run.pk))
    return run


def _resumable(account: ProviderAccount, kind: str) -> SyncRun | None:
    """The last full run, if it stopped part-way with a cursor: the new run carries on after it."""
    last = SyncRun.objects.filter(account=account, kind=kind, scope={}).exclude(status=SyncStatus.RUNNING).first()
    if last and last.status in (SyncStatus.INTERRUPTED, SyncStatus.FAILED) and last.cursor:
        return last
    return None


# Written after every page (the resume point must be exact), so plain SQL: the ORM's compiled
# F() update cost more than the page's provider call.
PROGRESS_SQL = (
    f"UPDATE {SyncRun._meta.db_table} SET cursor = %s, heartbeat_at = %s, pages_fetched = pages_fetched + %s,"
    " items_seen = items_seen + %s, items_updated = items_updated + %s, progress_done = progress_done + %s,"
    " errors = errors + %s WHERE id = %s AND status = %s"
)


def run_progress(
    run: SyncRun, *, cursor: dict, pages: int = 0, seen: int = 0, updated: int = 0, units: int = 0, errors: int = 0
) -> None:
    """Record one finished page (and unit) and where to resume; raises RunLost if taken over."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [json.dumps(cursor), now, pages, seen, updated, units, errors, run.pk, SyncStatus.RUNNING]
    with connection.cursor() as db:
        db.execute(PROGRESS_SQL, params)
        changed = db.rowcount
    if not changed:
        raise RunLost(f"sync run {run.pk} was taken over")
    run.cursor = cursor


def run_note_error(run: SyncRun) -> None:
    SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
        errors=F("errors") + 1, heartbeat_at=timezone.now()
    )


def run_set_total(run: SyncRun, total: int) -> None:
    SyncRun.objects.filter(pk=run.pk).update(progress_total=total, heartbeat_at=timezone.now())


def run_finish(run: SyncRun, *, reason: str = "", keep_cursor: bool = True) -> None:
    """Succeeded, or failed with a reason. A run that stopped part-way keeps its cursor for the
    next run to resume from; a run that went through everything clears it (the next starts over)."""
    fields = dict(finished_at=timezone.now(), status=SyncStatus.FAILED if reason else SyncStatus.SUCCEEDED)
    if reason:
        fields["failure_reason"] = reason
    if not reason or not keep_cursor:
        fields["cursor"] = {}
    SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(**fields)
    run.refresh_from_db()


def describe_error(error: Exception, *, account: ProviderAccount, attempts: int) -> str:
    if isinstance(error, ProviderError):
        template = REASONS.get(error.kind, UNEXPECTED_REASON)
        return template.format(
            provider=account.get_provider_display(), account=account.name, error=error, attempts=attempts
        )
    return UNEXPECTED_REASON.format(error_type=type(error).__name__, error=error)
