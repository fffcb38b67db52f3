"""Set-based INSERT of many rows of one model, for the ingest batches.

On PostgreSQL one INSERT ... SELECT FROM unnest(...) RETURNING id with one array per varying
column and one parameter per constant column (defaults, auto_now). Django's bulk_create prepares
every field of every row in Python, which was the largest cost of a 1,000-item API batch (issue 4
benchmark). Elsewhere (SQLite) it falls back to bulk_create. Either way the rows get their
defaults and auto_now values from the model, and the ids come back in the order of the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone


def insert_rows(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert rows, defaults elsewhere; return the new ids in the order of rows.

    columns are attnames (message_id, not message); values are what the driver takes as they are:
    int, plain str (not an enum member), bool, aware datetime, None. Preparing each value through its
    field cost as much as the rest of the insert.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = model._default_manager.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows])
        return [obj.pk for obj in objs]
    sql, constants = _plan(model, tuple(columns))
    now = timezone.now()  # one auto_now value for the whole batch
    params = [field.get_db_prep_save(_default(field, now), connection) for field in constants]
    arrays = [[row[position] for row in rows] for position in range(len(columns))]
    with connection.cursor() as cursor:
        # The constants' placeholders come first in the SQL text (the SELECT list), the arrays after.
        cursor.execute(sql, [*params, *arrays])
        return [row[0] for row in cursor.fetchall()]


def _default(field: Field, now) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


@cache  # per model and column list: the statement text and which fields take their default
def _plan(model: type[Model], columns: tuple[str, ...]) -> tuple[str, list[Field]]:
    quote = connection.ops.quote_name
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    names, selects, constants = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in columns:
            continue
        names.append(quote(field.column))
        selects.append(f"%s::{field.db_type(connection)}")
        constants.append(field)
    names += [quote(by_attname[name].column) for name in columns]
    selects += [f"c{n}" for n in range(len(columns))]
    casts = ", ".join(f"%s::{by_attname[name].db_type(connection)}[]" for name in columns)
    aliases = ", ".join(f"c{n}" for n in range(len(columns)))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(names)}) SELECT {', '.join(selects)} "
        f"FROM unnest({casts}) AS t({aliases}) RETURNING {quote(model._meta.pk.column)}"
    )
    return sql, constants
