"""Delivery records pass the input boundary (smsdash/boundary.py) before they are applied.

Records come from a provider's webhook, where a text that breaks a rule has already been refused
(formats.py: the provider is told), or from its query API during a sync, where an answer cannot be
refused: such a record is skipped and logged, and the run goes on with the others. A time outside
the boundary's window (a year-1 placeholder, a clock far ahead) is dropped and the record kept: its
state is what matters, and a year-1 time stored once breaks every date_trunc and time zone
conversion after it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from django.utils import timezone

from apps.providers.clients.base import DeliveryRecord
from smsdash.boundary import digits_rule, moment_rule, text_rule

logger = logging.getLogger(__name__)

ID_LENGTH = 64  # provider_message_id, template_code and out_id columns: a cut id would never match
PHONE_LENGTH = 20
TIME_FIELDS = ("received_at", "sent_at")


def phone_rule(value: str) -> str | None:
    return text_rule(value, max_length=PHONE_LENGTH) or digits_rule(value)


def id_rule(value: str) -> str | None:
    return text_rule(value, max_length=ID_LENGTH)


def code_rule(value: str) -> str | None:
    # Stored cut to its column: a long carrier description loses only its tail.
    return text_rule(value)


def content_rule(value: str) -> str | None:
    return text_rule(value, multiline=True)


RECORD_TEXT_RULES = {
    "message_id": id_rule,
    "phone": phone_rule,
    "error_code": code_rule,
    "template_code": id_rule,
    "out_id": id_rule,
    "content": content_rule,
}


def record_rule(record: DeliveryRecord) -> tuple[str, str] | None:
    """The first (field, rule) a record's text breaks, or None."""
    for field, rule in RECORD_TEXT_RULES.items():
        broken = rule(getattr(record, field))
        if broken:
            return field, broken
    return None


def screen_records(records: Iterable[DeliveryRecord], *, now: datetime | None = None) -> list[DeliveryRecord]:
    """The records fit to apply: those whose text breaks a rule are left out, out-of-window times
    dropped; each logged once with the record's message id. Times kept are in UTC."""
    now = now or timezone.now()
    kept = []
    for record in records:
        broken = record_rule(record)
        if broken:
            logger.warning("delivery record %s skipped: %s: %s", _label(record), *broken)
            continue
        kept.append(_within_window(record, now))
    return kept


def _within_window(record: DeliveryRecord, now: datetime) -> DeliveryRecord:
    changes, dropped = {}, []
    for field in TIME_FIELDS:
        value = getattr(record, field)
        if value is None:
            continue
        rule = moment_rule(value, now=now)
        if rule:
            changes[field] = None
            dropped.append(f"{field} {value.isoformat()} ({rule})")
        else:
            changes[field] = value.astimezone(UTC)
    if dropped:
        logger.warning("delivery record %s applied without %s", _label(record), "; ".join(dropped))
    return replace(record, **changes) if changes else record


def _label(record: DeliveryRecord) -> str:
    # repr: a NUL or a lone surrogate in an id must not break the log line. No phone: personal data.
    if record.message_id:
        return f"of message {record.message_id[:ID_LENGTH]!r}"
    return f"without message id (OutId {record.out_id[:ID_LENGTH]!r})"
