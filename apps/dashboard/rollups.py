"""Hourly rollups of messages and conversions, kept equal to the raw rows.

Database triggers (migrations/0002) append the UTC hour of every inserted, updated or deleted
message or conversion to DirtyHour, inside the writer's own transaction. `rollups_refresh()` takes
those marks and rebuilds exactly those hours from the raw rows; the dashboard calls it before it
answers (one indexed-by-pk read when nothing changed) and cron every minute. No writer needs to
call anything, so other apps' services, the admin, bulk_create and raw SQL are all covered.

Why it is race-free: the marks are deleted first (DELETE ... RETURNING); a mark is only visible
once its write has committed, so the rebuild statements that follow see that write. A write that
commits later leaves a new mark for the next refresh. Concurrent refreshes are serialised by an
advisory lock on PostgreSQL (SQLite serialises writers anyway).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from apps.dashboard.models import DirtyHour, HourlyStat, SegmentHourStat

HOUR = timedelta(hours=1)
LOCK_KEY = 7_000_777  # pg_advisory_xact_lock key of the rollup refresh

DELIVERED, FAILED = "delivered", "failed"

_INSERT = """
INSERT INTO dashboard_hourlystat
  (hour, account_id, template_code, country, requested, accepted, delivered, failed, verified)
SELECT {hour} AS h, m.account_id, m.template_code, m.country,
  COUNT(*),
  SUM(CASE WHEN m.delivery_status IN ('delivered', 'failed') THEN 1 ELSE 0 END),
  SUM(CASE WHEN m.delivery_status = 'delivered' THEN 1 ELSE 0 END),
  SUM(CASE WHEN m.delivery_status = 'failed' THEN 1 ELSE 0 END),
  SUM(CASE WHEN c.status = 'converted' THEN 1 ELSE 0 END)
FROM messaging_sentmessage m LEFT JOIN messaging_conversion c ON c.message_id = m.id
WHERE m.sent_at >= %s AND m.sent_at < %s
GROUP BY {hour}, m.account_id, m.template_code, m.country
"""

_INSERT_SEGMENTS = """
INSERT INTO dashboard_segmenthourstat (hour, provider, country, requested, accepted, delivered, failed, verified)
SELECT s.hour, a.provider, s.country, SUM(s.requested), SUM(s.accepted), SUM(s.delivered), SUM(s.failed),
  SUM(s.verified)
FROM dashboard_hourlystat s JOIN providers_provideraccount a ON a.id = s.account_id
WHERE s.hour >= %s AND s.hour < %s
GROUP BY s.hour, a.provider, s.country
"""

HOUR_SQL = {
    "postgresql": "date_trunc('hour', m.sent_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    "sqlite": "strftime('%%Y-%%m-%%d %%H:00:00', m.sent_at)",
}


def rollups_refresh() -> int:
    """Rebuild every hour marked dirty since the last refresh; returns how many hours were rebuilt."""
    if not DirtyHour.objects.exists():  # the usual case: a read, no write transaction, no lock
        return 0
    with transaction.atomic():
        _lock()
        hours = _take_dirty_hours()
        for start, end in hour_ranges(hours):
            rebuild(start, end)
    return len(hours)


def rollups_rebuild_all() -> int:
    """Rebuild everything from the raw rows (after a bulk load with triggers off, or to verify)."""
    with transaction.atomic():
        _lock()
        _take_dirty_hours()
        HourlyStat.objects.all().delete()
        SegmentHourStat.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute("SELECT MIN(sent_at), MAX(sent_at) FROM messaging_sentmessage")
            low, high = cursor.fetchone()
        if low is None:
            return 0
        low, high = _aware(low), _aware(high)
        start, end = floor_hour(low), floor_hour(high) + HOUR
        _insert(start, end)
        return int((end - start) / HOUR)


def rebuild(start: datetime, end: datetime) -> None:
    """Replace the rollup rows of the hours in [start, end) by fresh aggregates of the raw rows."""
    HourlyStat.objects.filter(hour__gte=start, hour__lt=end).delete()
    SegmentHourStat.objects.filter(hour__gte=start, hour__lt=end).delete()
    _insert(start, end)


def _insert(start: datetime, end: datetime) -> None:
    sql = _INSERT.format(hour=HOUR_SQL[connection.vendor])
    ops = connection.ops
    bounds = [ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)]
    with connection.cursor() as cursor:
        cursor.execute(sql, bounds)
        cursor.execute(_INSERT_SEGMENTS, bounds)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _take_dirty_hours() -> list[datetime]:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM dashboard_dirtyhour RETURNING hour")
        rows = cursor.fetchall()
    return sorted({_aware(_parse(hour)) for (hour,) in rows})


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


def _parse(value) -> datetime:
    # RETURNING bypasses Django's converters: SQLite gives the stored text.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _aware(value) -> datetime:
    value = _parse(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
