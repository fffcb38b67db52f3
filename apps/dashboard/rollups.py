"""Hourly rollups of messages and conversions, kept equal to the raw rows.

Database triggers (triggers.py) append the UTC hour of every inserted, updated or deleted message
or conversion to DirtyHour, inside the writer's own transaction. `rollups_refresh()` takes those
marks and rebuilds exactly those hours from the raw rows; the dashboard calls it before it answers
(one indexed-by-pk read when nothing changed) and cron every minute. No writer needs to call
anything, so other apps' services, the admin, bulk_create and raw SQL are all covered.

Why it is race-free: the marks are deleted first (DELETE ... RETURNING); a mark is only visible
once its write has committed, so the rebuild statements that follow see that write. A write that
commits later leaves a new mark for the next refresh. Concurrent refreshes are serialised by an
advisory lock on PostgreSQL (SQLite serialises writers anyway).

Why one row cannot stop it: only hours inside apps.messaging.stored_times.window() are rolled up.
A message sent outside it (year 1, which PostgreSQL stores as 1 BC and psycopg cannot load; 1900;
9999) is left out of every figure and logged with its id by the refresh that takes its mark, so
once per write of it, not once per page view. A range of hours whose rebuild the database refuses
is logged and skipped; the other ranges are rebuilt in the same refresh.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction

from apps.dashboard import sql
from apps.dashboard.models import DirtyHour, HourlyStat, SegmentHourStat
from apps.messaging import stored_times
from apps.messaging.models import SentMessage

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
LOGGED_IDS = 100  # enough to find the rows; a bulk load of bad rows must not flood the log

OUTSIDE_WINDOW = "Rollups leave out %d message(s) sent outside %s .. %s (ids %s); correct or delete them."
REBUILD_FAILED = "Rollups of the hours %s .. %s were not rebuilt: %s"


def rollups_refresh() -> int:
    """Rebuild every hour marked dirty since the last refresh; returns how many hours were rebuilt."""
    if not DirtyHour.objects.exists():  # the usual case: a read, no write transaction, no lock
        return 0
    earliest, latest = stored_times.window()
    with transaction.atomic():
        sql.lock_rollups()
        hours, outside = sql.take_dirty_hours(earliest, latest)
        for start, end in hour_ranges(hours):
            _rebuild_or_log(start, end)
    if outside:
        log_rows_outside_window()
    return len(hours)


def rollups_rebuild_all() -> int:
    """Rebuild everything from the raw rows (after a bulk load with triggers off, or to verify)."""
    earliest, latest = stored_times.window()
    with transaction.atomic():
        sql.lock_rollups()
        sql.take_dirty_hours(earliest, latest)
        HourlyStat.objects.all().delete()
        SegmentHourStat.objects.all().delete()
        span = sql.sent_at_span(earliest, latest)
        if span is not None:
            start, end = floor_hour(span[0]), floor_hour(span[1]) + HOUR
            sql.insert_rollups(start, end)
    log_rows_outside_window()
    return 0 if span is None else int((end - start) / HOUR)


def rebuild(start: datetime, end: datetime) -> None:
    """Replace the rollup rows of the hours in [start, end) by fresh aggregates of the raw rows."""
    HourlyStat.objects.filter(hour__gte=start, hour__lt=end).delete()
    SegmentHourStat.objects.filter(hour__gte=start, hour__lt=end).delete()
    sql.insert_rollups(start, end)


def _rebuild_or_log(start: datetime, end: datetime) -> None:
    try:
        with transaction.atomic():  # a savepoint: the other ranges go on after a refusal
            rebuild(start, end)
    except DatabaseError as error:
        logger.error(REBUILD_FAILED, start.isoformat(), end.isoformat(), error)


def log_rows_outside_window() -> int:
    """Log the ids of the messages the rollups leave out; returns how many there are."""
    earliest, latest = stored_times.window()
    outside = SentMessage.objects.filter(stored_times.outside("sent_at")).order_by("pk")
    count = outside.count()
    if count:
        ids = list(outside.values_list("pk", flat=True)[:LOGGED_IDS])
        shown = ", ".join(map(str, ids)) + (", ..." if count > len(ids) else "")
        logger.warning(OUTSIDE_WINDOW, count, earliest.isoformat(), latest.isoformat(), shown)
    return count


def hour_ranges(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hours → maximal [start, end) runs of consecutive hours."""
    ranges: list[tuple[datetime, datetime]] = []
    for hour in hours:
        if ranges and ranges[-1][1] == hour:
            ranges[-1] = (ranges[-1][0], hour + HOUR)
        else:
            ranges.append((hour, hour + HOUR))
    return ranges


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
