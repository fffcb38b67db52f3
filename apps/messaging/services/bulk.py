"""Set-based INSERT of many rows of one model, for the ingest batches.

On PostgreSQL one INSERT ... SELECT FROM json_array_elements(...) RETURNING id: the rows travel
as one JSON array, and there is one parameter per constant column (defaults, auto_now). Django's
bulk_create prepares every field of every row in Python, which was the largest cost of a 1,000-item
API batch (issue 4 benchmark); an array parameter per column, adapted element by element in
Python, was then a third of it, where json.dumps works in C. A single row takes a plain VALUES
list. Elsewhere (SQLite) it falls back to bulk_create. Either way the rows get their defaults and
auto_now values from the model, and the ids come back in the order of the rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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
    plan = _plan(model, tuple(columns))
    params = plan.constants(timezone.now())  # one auto_now value for the whole batch
    with connection.cursor() as cursor:
        # The constants' placeholders come first in the SQL text, the varying values after.
        if len(rows) == 1:
            cursor.execute(plan.one_row, [*params, *rows[0]])
        else:
            cursor.execute(plan.many_rows, [*params, json.dumps(rows, default=_json_value)])
        return [row[0] for row in cursor.fetchall()]


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # aware: PostgreSQL reads the offset
    raise TypeError(f"insert_rows cannot pass {type(value).__name__} values")


@dataclass(frozen=True)
class _Plan:
    many_rows: str  # INSERT ... SELECT FROM json_array_elements(one JSON array of rows)
    one_row: str  # INSERT ... VALUES
    fixed: tuple[Any, ...]  # the default columns' prepared values, in the statements' order
    now_field: Field | None  # the auto_now field whose value is "now" on each call
    now_positions: frozenset[int]

    def constants(self, now) -> list[Any]:
        if self.now_field is None:
            return list(self.fixed)
        now = self.now_field.get_db_prep_save(now, connection)
        return [now if i in self.now_positions else value for i, value in enumerate(self.fixed)]


def _is_auto_now(field: Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


@cache  # per model and column list: the statements and the default values, prepared once
def _plan(model: type[Model], columns: tuple[str, ...]) -> _Plan:
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
    selects += [f"(r.v->>{n})::{by_attname[name].db_type(connection)}" for n, name in enumerate(columns)]
    insert = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(names)})"
    returning = f"RETURNING {quote(model._meta.pk.column)}"
    varying = [f.name for f in constants if f.has_default() and callable(f.default) and not _is_auto_now(f)]
    if varying:  # a callable default (uuid4, now) would be frozen by the cache: the caller must pass it
        raise ValueError(f"{model.__name__}: pass {', '.join(varying)} as columns (callable defaults)")
    now_positions = frozenset(i for i, field in enumerate(constants) if _is_auto_now(field))
    return _Plan(
        many_rows=(
            f"{insert} SELECT {', '.join(selects)} FROM json_array_elements(%s::json) WITH ORDINALITY AS r(v, n) "
            f"ORDER BY r.n {returning}"
        ),
        one_row=f"{insert} VALUES ({', '.join(['%s'] * (len(constants) + len(columns)))}) {returning}",
        fixed=tuple(None if _is_auto_now(f) else f.get_db_prep_save(f.get_default(), connection) for f in constants),
        now_field=next((constants[i] for i in now_positions), None),
        now_positions=now_positions,
    )
