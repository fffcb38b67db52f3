"""Times already stored that the rest of smsdash cannot handle, and how readers keep clear of them.

The input boundary (smsdash/boundary.py) refuses a sent or converted time before
INPUT_EARLIEST_DATE or in the future, but rows written before it existed, or by a path that
bypassed it (raw SQL, a bulk load), may hold any time the database takes. Some cannot even be read
into Python: year 1 at +01:00 is 1 BC in UTC, which PostgreSQL stores and psycopg refuses to load
("timestamp too small"), and which SQLite keeps as year 0 (ValueError). Year 9999 loads, but one
more hour or a +08:00 display overflows. So readers that must not fail compare in SQL first:
a time inside [earliest_moment(), LATEST) is safe to load and to compute with; any other is
left in the database, shown as the database's text, and skipped by aggregates.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Q

from smsdash.boundary import earliest_moment

# Far from datetime.max, so hours, days, baselines and any ±14:00 display offset stay computable;
# no SMS is sent that late.
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def window() -> tuple[datetime, datetime]:
    """[earliest, latest): the times readers load and aggregate."""
    return earliest_moment(), LATEST


def inside(field: str) -> Q:
    earliest, latest = window()
    return Q(**{f"{field}__gte": earliest, f"{field}__lt": latest})


def outside(field: str) -> Q:
    earliest, latest = window()
    return Q(**{f"{field}__lt": earliest}) | Q(**{f"{field}__gte": latest})
