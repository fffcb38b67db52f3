"""Rows whose times lie outside what smsdash accepts, written straight into the tables as a path
that bypassed the input boundary (or data from before it) would have left them.

Per database: the value written, and the text the database gives back for it. Year 1 at +01:00 is
1 BC in UTC: PostgreSQL keeps it (psycopg cannot load it), and Django on SQLite would keep it as
year 0 in its naive-UTC text (Python cannot parse it).
"""

from __future__ import annotations

from django.db import connection

from apps.messaging.models import Conversion, DeliveryReceipt, SentMessage

BAD_TIMES = {
    "year 1 at +01:00": {
        "postgresql": ("0001-01-01T00:30:00+01:00", "0001-12-31 23:30:00+00 BC"),
        "sqlite": ("0000-12-31 23:30:00", "0000-12-31 23:30:00"),
    },
    "year 1900": {
        "postgresql": ("1900-01-01T00:00:00+00:00", "1900-01-01 00:00:00+00"),
        "sqlite": ("1900-01-01 00:00:00", "1900-01-01 00:00:00"),
    },
    "year 9999": {
        "postgresql": ("9999-12-31T23:30:00+00:00", "9999-12-31 23:30:00+00"),
        "sqlite": ("9999-12-31 23:30:00", "9999-12-31 23:30:00"),
    },
}


def stored_text(name: str) -> str:
    """How the database shows the time `name` once stored."""
    return BAD_TIMES[name][connection.vendor][1]


def _store(table: str, column: str, pk: int, name: str) -> None:
    value = BAD_TIMES[name][connection.vendor][0]
    cast = "::timestamptz" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s{cast} WHERE id = %s", [value, pk])


def store_sent_at(message: SentMessage, name: str) -> None:
    _store(SentMessage._meta.db_table, "sent_at", message.pk, name)


def store_converted_at(conversion: Conversion, name: str) -> None:
    _store(Conversion._meta.db_table, "converted_at", conversion.pk, name)


def store_receipt_time(receipt: DeliveryReceipt, column: str, name: str) -> None:
    _store(DeliveryReceipt._meta.db_table, column, receipt.pk, name)


def store_received_at(message: SentMessage, name: str) -> None:
    _store(SentMessage._meta.db_table, "received_at", message.pk, name)
