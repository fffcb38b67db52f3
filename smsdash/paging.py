"""Admin pagination that stays fast on tables with millions of rows.

Django's changelist runs COUNT(*) over the filtered queryset on every page view. On PostgreSQL an
unfiltered table's size comes from the planner's estimate (pg_class.reltuples), and any filtered
count stops at COUNT_CAP rows, so a page view never scans a whole table just to number its pages.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

COUNT_CAP = 10_000
ESTIMATE_ABOVE = 100_000


class LargeTablePaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        estimate = _estimated_rows(queryset)
        if estimate is not None and estimate > ESTIMATE_ABOVE:
            return estimate
        return queryset[: COUNT_CAP + 1].count() if hasattr(queryset, "query") else len(queryset)


def _estimated_rows(queryset) -> int | None:
    """The planner's row estimate for an unfiltered table on PostgreSQL, else None."""
    query = getattr(queryset, "query", None)
    if query is None or query.where.children:
        return None
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else None


class LargeTableAdminMixin:
    """For ModelAdmins of tables that grow without bound."""

    paginator = LargeTablePaginator
    show_full_result_count = False
    list_per_page = 50
