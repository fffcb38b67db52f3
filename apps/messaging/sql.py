"""The messaging app's raw SQL, where the ORM cost more than the query (issue 4 benchmark) or cannot
say it (INSERT ... ON CONFLICT DO NOTHING with the new ids returned).

- insert_new(model, columns, rows, unique=...): insert the rows whose unique key is not stored yet,
  in one set-based statement; the new ids in the order of rows, None where the key was there.
- message_rows(account_id, column, values): the conversion ingest's lookup, on PostgreSQL.
- count_duplicate_submissions(conversion_ids): one more repeat on each of these conversions.

On PostgreSQL the insert is INSERT ... SELECT FROM json_array_elements(...): the rows travel as one
JSON array, and there is one parameter per constant column (defaults, auto_now). Django's
bulk_create prepared every field of every row in Python, the largest cost of a 1,000-item API batch;
an array parameter per column, adapted element by element in Python, was then a third of it, where
json.dumps works in C. A single row takes a plain VALUES list. SQLite takes VALUES lists of prepared
values, in chunks of its parameter limit.
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


def insert_new(
    model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]], *, unique: Sequence[str]
) -> list[int | None]:
    """Insert each row unless a row with its unique key (distinct within rows) is already stored.

    Rows go in sorted by that key, whatever order they came in: concurrent requests inserting
    overlapping keys then wait for each other key by key in the same order, never each for the
    other (PostgreSQL's deadlock), and a key another request stored first is skipped, not an error.
    columns are attnames (message_id, not message); values are what the driver takes as they are:
    int, plain str (not an enum member), bool, aware datetime, None.
    """
    if not rows:
        return []
    positions = [list(columns).index(name) for name in unique]

    def key(row: Sequence[Any]) -> tuple:
        return tuple(row[p] for p in positions)

    plan = _plan(model, tuple(columns), tuple(unique))
    params = plan.constants(timezone.now())  # one auto_now value for the whole batch
    ordered = sorted(rows, key=key)
    insert = _postgresql if connection.vendor == "postgresql" else _sqlite
    returned = insert(plan, params, ordered)
    ids = {tuple(row[1:]): row[0] for row in returned}
    return [ids.get(key(row)) for row in rows]


def _postgresql(plan: _Plan, params: list[Any], rows: list[Sequence[Any]]) -> list[tuple]:
    with connection.cursor() as cursor:
        # The constants' placeholders come first in the SQL text, the varying values after.
        if len(rows) == 1:
            cursor.execute(plan.one_row, [*params, *rows[0]])
        else:
            cursor.execute(plan.many_rows, [*params, json.dumps(rows, default=_json_value)])
        return cursor.fetchall()


def _sqlite(plan: _Plan, constants: list[Any], rows: list[Sequence[Any]]) -> list[tuple]:
    prepared = [[f.get_db_prep_save(v, connection) for f, v in zip(plan.fields, row, strict=True)] for row in rows]
    per_row = len(constants) + len(plan.fields)
    chunk = max(connection.features.max_query_params // per_row, 1)
    returned: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), chunk):
            part = prepared[start : start + chunk]
            marks = ", ".join([f"({', '.join(['%s'] * per_row)})"] * len(part))
            cursor.execute(plan.values.format(marks=marks), [v for row in part for v in (*constants, *row)])
            returned += cursor.fetchall()
    return returned


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # aware: PostgreSQL reads the offset
    raise TypeError(f"insert_new cannot pass {type(value).__name__} values")


@dataclass(frozen=True)
class _Plan:
    many_rows: str  # PostgreSQL: INSERT ... SELECT FROM json_array_elements(one JSON array of rows)
    one_row: str  # PostgreSQL: INSERT ... VALUES (one row)
    values: str  # SQLite: INSERT ... VALUES {marks}
    fields: tuple[Field, ...]  # the varying columns' fields
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


@cache  # per model, column list and key: the statements and the default values, prepared once
def _plan(model: type[Model], columns: tuple[str, ...], unique: tuple[str, ...]) -> _Plan:
    quote = connection.ops.quote_name
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    constants = [f for f in model._meta.concrete_fields if not (f.primary_key or f.attname in columns)]
    varying = [f.name for f in constants if f.has_default() and callable(f.default) and not _is_auto_now(f)]
    if varying:  # a callable default (uuid4, now) would be frozen by the cache: the caller must pass it
        raise ValueError(f"{model.__name__}: pass {', '.join(varying)} as columns (callable defaults)")
    fields = tuple(by_attname[name] for name in columns)
    names = ", ".join(quote(f.column) for f in (*constants, *fields))
    selects = [f"%s::{f.db_type(connection)}" for f in constants]
    selects += [f"(r.v->>{n})::{f.db_type(connection)}" for n, f in enumerate(fields)]
    insert = f"INSERT INTO {quote(model._meta.db_table)} ({names})"
    keys = ", ".join(quote(by_attname[name].column) for name in unique)
    tail = f"ON CONFLICT ({keys}) DO NOTHING RETURNING {quote(model._meta.pk.column)}, {keys}"
    now_positions = frozenset(i for i, field in enumerate(constants) if _is_auto_now(field))
    return _Plan(
        many_rows=(
            f"{insert} SELECT {', '.join(selects)} FROM json_array_elements(%s::json) WITH ORDINALITY AS r(v, n) "
            f"ORDER BY r.n {tail}"
        ),
        one_row=f"{insert} VALUES ({', '.join(['%s'] * (len(constants) + len(fields)))}) {tail}",
        values=f"{insert} VALUES {{marks}} {tail}",
        fields=fields,
        fixed=tuple(None if _is_auto_now(f) else f.get_db_prep_save(f.get_default(), connection) for f in constants),
        now_field=next((constants[i] for i in now_positions), None),
        now_positions=now_positions,
    )


# The conversion lookup as one fixed statement: building the ORM query cost more CPU than running
# it for a single conversion. = ANY(array) is one parameter instead of up to 1,000, sent as JSON
# text; one value is compared as it is, since adapting an array of one cost more than the query.
MESSAGE_ROWS_SQL = (
    "SELECT m.id, m.sent_at, m.trackable, m.country, c.id, m.provider_message_id, m.out_id "
    "FROM messaging_sentmessage m LEFT JOIN messaging_conversion c ON c.message_id = m.id "
    "WHERE m.account_id = %s AND m.{column} {match}"
)


def message_rows(account_id: int, column: str, values: set[str]) -> list[tuple]:
    """PostgreSQL: (id, sent_at, trackable, country, conversion id, provider_message_id, out_id) of the
    account's messages whose column (provider_message_id or out_id) is one of values."""
    if len(values) == 1:
        sql, param = MESSAGE_ROWS_SQL.format(column=column, match="= %s"), next(iter(values))
    else:
        match = "= ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"  # json.dumps beats adapting an array
        sql, param = MESSAGE_ROWS_SQL.format(column=column, match=match), json.dumps(list(values))
    with connection.cursor() as cursor:
        cursor.execute(sql, [account_id, param])
        return cursor.fetchall()


COUNT_REPEAT = "UPDATE messaging_conversion SET duplicate_submissions = duplicate_submissions + 1 WHERE id {match}"
# Rows locked in the order of their ids first: two batches repeating overlapping conversions in
# different orders would otherwise each hold a row the other waits for.
LOCKED_IN_ORDER = "IN (SELECT id FROM messaging_conversion WHERE id = ANY(%s) ORDER BY id FOR UPDATE)"


def count_duplicate_submissions(conversion_ids: Sequence[int]) -> None:
    """Add one to duplicate_submissions of each of these (distinct) conversions."""
    with connection.cursor() as cursor:
        if len(conversion_ids) == 1:
            cursor.execute(COUNT_REPEAT.format(match="= %s"), list(conversion_ids))
        elif connection.vendor == "postgresql":
            cursor.execute(COUNT_REPEAT.format(match=LOCKED_IN_ORDER), [list(conversion_ids)])
        else:  # SQLite: one writer at a time, nothing to order; at most max_query_params per statement
            step = connection.features.max_query_params
            for part in (conversion_ids[i : i + step] for i in range(0, len(conversion_ids), step)):
                cursor.execute(COUNT_REPEAT.format(match=f"IN ({', '.join(['%s'] * len(part))})"), list(part))
