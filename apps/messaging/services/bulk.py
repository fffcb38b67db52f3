"""Set-based INSERT of many rows of one model, for the ingest batches.

On PostgreSQL one INSERT ... SELECT FROM unnest(...) RETURNING id with one array per varying
column and one parameter per constant column (defaults, auto_now). Django's bulk_create prepares
every field of every row in Python, which was the largest cost of a 1,000-item API batch (issue 4
benchmark). Elsewhere (SQLite) it falls back to bulk_create. Either way the rows get their
defaults and auto_now values from the model, and the ids come back in the order of the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


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
    template = model()  # the defaults and auto_now values shared by every row of this batch
    names, selects, params, unnest = [], [], [], []
    arrays = {name: position for position, name in enumerate(columns)}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        db_type = field.db_type(connection)
        names.append(connection.ops.quote_name(field.column))
        if field.attname in arrays:
            position = arrays[field.attname]
            unnest.append((f"%s::{db_type}[]", [row[position] for row in rows]))
            selects.append(f"c{len(unnest)}")
        else:
            selects.append(f"%s::{db_type}")
            params.append(field.get_db_prep_save(field.pre_save(template, add=True), connection))
    table, pk = (connection.ops.quote_name(name) for name in (model._meta.db_table, model._meta.pk.column))
    aliases = ", ".join(f"c{n}" for n in range(1, len(unnest) + 1))
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(selects)} "
        f"FROM unnest({', '.join(cast for cast, _ in unnest)}) AS t({aliases}) RETURNING {pk}"
    )
    with connection.cursor() as cursor:
        # The constants' placeholders come first in the SQL text (the SELECT list), the arrays after.
        cursor.execute(sql, [*params, *(values for _, values in unnest)])
        return [row[0] for row in cursor.fetchall()]
