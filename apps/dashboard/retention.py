"""Retention (apps/messaging/retention.py) run beside the rollups, so deleting old rows keeps the
dashboard's history.

The database triggers (triggers.py) mark the hours of deleted rows dirty, and a refresh would then
recount those hours without the deleted rows: the history would fall to zero. So each batch is one
transaction, under the rollup lock so no refresh runs meanwhile, that first rolls up the hours
already dirty (a late receipt for an old message is counted while its row still exists), then
deletes the batch, then forgets the marks its own delete made: those hours keep the figures they had.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Max

from apps.dashboard import sql
from apps.dashboard.models import DirtyHour
from apps.dashboard.rollups import rollups_refresh
from apps.messaging.retention import RETENTION_BATCH, expired_batch_delete, retention_cutoffs

logger = logging.getLogger(__name__)

KINDS = ("messages", "conversions", "receipts")
DELETED_LOG = "retention deleted %(messages)d messages, %(conversions)d conversions, %(receipts)d receipts"


def retention_run(*, now: datetime | None = None, batch: int = RETENTION_BATCH) -> dict[str, int]:
    """Delete every account's rows older than its retention, batch by batch; returns the counts."""
    totals = dict.fromkeys(KINDS, 0)
    for account_id, cutoff in retention_cutoffs(now):
        while True:
            counts = _delete_batch(account_id, cutoff, batch)
            for kind in KINDS:
                totals[kind] += counts[kind]
            if counts["messages"] < batch and counts["receipts"] < batch:
                break
    if any(totals.values()):
        logger.info(
            "retention deleted %(messages)d messages, %(conversions)d conversions, %(receipts)d receipts", totals
        )
    return totals


def _delete_batch(account_id: int, cutoff: datetime, batch: int) -> dict[str, int]:
    with transaction.atomic():
        sql.lock_rollups()
        rollups_refresh()
        # Marks after this one come from the delete below: on SQLite the transaction holds the write
        # lock. On PostgreSQL another account's write to an old hour committing during this statement
        # could lose its mark too; writes to rows past a retention cut-off are rare enough to accept it.
        last_mark = DirtyHour.objects.aggregate(last=Max("pk"))["last"] or 0
        counts = expired_batch_delete(account_id=account_id, cutoff=cutoff, batch=batch)
        DirtyHour.objects.filter(pk__gt=last_mark, hour__lt=cutoff).delete()
    return counts


def retention_run_job() -> dict[str, int]:
    return retention_run()
