"""The rollups' raw SQL: aggregates written by the database itself (INSERT ... SELECT), and the
dirty-hour marks taken with DELETE ... RETURNING (see rollups.py for why both)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection

LOCK_KEY = 7_000_777  # pg_advisory_xact_lock key of the rollup refresh

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

# A mark outside the window comes back as NULL: psycopg cannot load an hour before year 1 (nor
# Python parse SQLite's year 0), so it must never leave the database as a timestamp.
_TAKE_MARKS = "DELETE FROM dashboard_dirtyhour RETURNING CASE WHEN hour >= %s AND hour < %s THEN hour END"

_SPAN = "SELECT MIN(sent_at), MAX(sent_at) FROM messaging_sentmessage WHERE sent_at >= %s AND sent_at < %s"


def _bounds(*moments: datetime) -> list:
    return [connection.ops.adapt_datetimefield_value(moment) for moment in moments]


def lock_rollups() -> None:
    """Serialise refreshes until the transaction ends (SQLite serialises writers anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def insert_rollups(start: datetime, end: datetime) -> None:
    """Aggregate the messages sent in [start, end) into hourly and per-segment rows."""
    bounds = _bounds(start, end)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT.format(hour=HOUR_SQL[connection.vendor]), bounds)
        cursor.execute(_INSERT_SEGMENTS, bounds)


def take_dirty_hours(earliest: datetime, latest: datetime) -> tuple[list[datetime], int]:
    """Delete every dirty-hour mark; returns the distinct marked hours inside [earliest, latest)
    (aware, UTC, sorted) and how many marks lay outside it."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_MARKS, _bounds(earliest, latest))
        rows = cursor.fetchall()
    hours = {aware(hour) for (hour,) in rows if hour is not None}
    return sorted(hours), sum(1 for (hour,) in rows if hour is None)


def sent_at_span(earliest: datetime, latest: datetime) -> tuple[datetime, datetime] | None:
    """The first and last send time inside [earliest, latest), or None when there is none."""
    with connection.cursor() as cursor:
        cursor.execute(_SPAN, _bounds(earliest, latest))
        low, high = cursor.fetchone()
    return None if low is None else (aware(low), aware(high))


def aware(value) -> datetime:
    # Raw cursors bypass Django's converters: SQLite gives the stored text, naive UTC.
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
