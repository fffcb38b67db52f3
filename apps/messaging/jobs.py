"""Conversion reporting jobs (django-rq, queue "reports"): thin wrappers around the services.

- queue_reports(account_id, ids): after commit, a job for a batch, or one backlog drain per
  account for single conversions.
- report_conversions(account_id, ids): report these conversions; schedule their retries and,
  when the account's circuit breaker parked them, one backlog drain at the end of the cool-down.
- drain_account_backlog(account_id): report every due pending conversion of one account.
- sweep_pending_conversions(): periodic (smsdash/cron.py); re-enqueues what stayed pending too
  long: a lost job, a flushed Redis, a killed worker.
- release_dead_claims(): periodic, every few seconds; gives back the rows of workers whose claim
  lease lapsed (apps/messaging/leases.py) and reports them again.

A report job rides out a short outage of Redis or the database (RIDE_OUT): a failed chunk gives
its rows back at once, and the job runs again on what is still due once the outage is over.

Retries and parked work are scheduled with rq's enqueue_in/enqueue_at, so workers must run with
--with-scheduler. Inline (no REDIS_URL) nothing can be scheduled: the row keeps its
next_attempt_at and the sweep (or the admin's re-send action) picks it up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.messaging import drain_requests
from apps.messaging.services.reporting import (
    ReportRun,
    claims_release_expired,
    conversions_due,
    conversions_report,
    conversions_sweep,
)
from apps.providers.breaker import redis_connection
from smsdash.queue import enqueue, queue_for
from smsdash.worker import REDIS_DOWN

logger = logging.getLogger(__name__)

QUEUE = "reports"
ENQUEUE_CHUNK = 500


SMALL_BATCH = 50  # fewer new conversions than this ask for a drain instead of a job of their own
DRAIN_FLAG = "smsdash:drain-requested:{account_id}"
DRAIN_FLAG_TTL = 60  # a lost drain job is re-requested after this; the sweep covers the rest
OUTAGES = (*REDIS_DOWN, OperationalError, InterfaceError)  # Redis or the database away, or a cut connection
RIDE_OUT = (1, 2, 4, 8, 16)  # seconds before each new try: a restart of either is over well within 31 s


def queue_reports(account_id: int, conversion_ids: list[int]) -> None:
    """Called by the recording service inside its transaction; starts reporting after the commit.

    A batch gets its own job. Small submissions (the single-conversion path, up to thousands a
    second) instead ask for one drain of the account's backlog: a Redis flag makes that one job
    for all of them rather than one rq job each, which no worker could keep up with. The
    process's drain requester (drain_requests.py) sets that flag for many of them at once.
    """
    if settings.JOBS_INLINE or len(conversion_ids) >= SMALL_BATCH:
        enqueue(report_conversions, account_id, conversion_ids, queue=QUEUE)
    else:
        transaction.on_commit(lambda: drain_requests.requester.request(account_id))


def request_drain(account_id: int) -> None:
    """Enqueue one drain of the account's backlog unless one is already waiting to start."""
    try:
        if redis_connection().set(DRAIN_FLAG.format(account_id=account_id), "1", nx=True, ex=DRAIN_FLAG_TTL):
            queue_for(QUEUE).enqueue(drain_account_backlog, account_id)
    except Exception:  # Redis away: the rows are committed, the periodic sweep reports them
        logger.exception("could not request a report drain for account %s", account_id)


def ride_out(call: Callable[[], ReportRun]) -> ReportRun:
    """call(), again after a pause if Redis or the database was away: the failed chunks gave their
    rows back, so the next try reports them (and whatever was not reached yet)."""
    for pause in RIDE_OUT:
        try:
            return call()
        except OUTAGES as error:
            logger.warning("reporting interrupted (%s: %s): trying again in %d s", type(error).__name__, error, pause)
            connection.close()
            time.sleep(pause)
    return call()


def report_conversions(account_id: int, conversion_ids: list[int]) -> dict:
    run = ride_out(lambda: conversions_report(account_id=account_id, conversion_ids=conversion_ids))
    _follow_up(account_id, run)
    return _summary(run)


def drain_account_backlog(account_id: int) -> dict:
    if not settings.JOBS_INLINE:
        # From here on a new conversion requests a new drain; all committed before are seen below.
        redis_connection().delete(DRAIN_FLAG.format(account_id=account_id))
    total = ReportRun()
    while ids := conversions_due(account_id=account_id, limit=ENQUEUE_CHUNK):
        run = ride_out(lambda ids=ids: conversions_report(account_id=account_id, conversion_ids=ids))
        _follow_up(account_id, run, draining=True)
        for name in ("reported", "failed", "skipped", "parked"):
            setattr(total, name, getattr(total, name) + getattr(run, name))
        if run.resume_at or not (run.reported or run.failed or run.skipped):
            break  # parked again, or nothing of this batch could be claimed: stop, do not spin
    return _summary(total)


def sweep_pending_conversions() -> dict:
    found = conversions_sweep()
    for account_id, ids in found.items():
        for start in range(0, len(ids), ENQUEUE_CHUNK):
            enqueue(report_conversions, account_id, ids[start : start + ENQUEUE_CHUNK], queue=QUEUE)
    count = sum(len(ids) for ids in found.values())
    if count:
        logger.info("sweep re-enqueued %d pending conversions", count)
    return {"requeued": count}


def release_dead_claims() -> dict:
    released = claims_release_expired()
    for account_id, ids in released.items():
        enqueue(report_conversions, account_id, ids, queue=QUEUE)
    return {"released": sum(len(ids) for ids in released.values())}


def _follow_up(account_id: int, run: ReportRun, *, draining: bool = False) -> None:
    if settings.JOBS_INLINE:
        return  # nothing can be scheduled inline; the sweep and the admin re-send cover it
    queue = queue_for(QUEUE)
    for conversion_id, delay in run.retries:
        queue.enqueue_at(
            _not_before(timezone.now() + timedelta(seconds=delay)), report_conversions, account_id, [conversion_id]
        )
    if run.resume_at:
        # One drain per account at the end of the cool-down, however many jobs were parked.
        drain_id = f"drain-account-{account_id}"
        queue.enqueue_at(_not_before(run.resume_at), drain_account_backlog, account_id, job_id=drain_id)
    elif run.probe_succeeded and not draining:
        queue.enqueue(drain_account_backlog, account_id)


def _not_before(moment: datetime) -> datetime:
    # rq's scheduler keeps whole seconds and runs a job in the second it is due, possibly before
    # the row's next_attempt_at; a job that early would find nothing to claim. Round up.
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def _summary(run: ReportRun) -> dict:
    return {
        "reported": run.reported,
        "failed": run.failed,
        "skipped": run.skipped,
        "parked": run.parked,
        "retries": len(run.retries),
    }
