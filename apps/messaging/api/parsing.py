"""JSON items -> service inputs, field by field. Each error names the field and the rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.messaging import phone as phones
from apps.messaging.models import ConversionStatus
from apps.messaging.services.inputs import ConversionInput, MessageInput

REQUIRED = "This field is required."
NOT_OBJECT = "Each item must be a JSON object."
UNKNOWN_FIELD = "Unknown field: the accepted fields are {fields}."
NOT_STRING = "Must be a string."
TOO_LONG = "Must be at most {max} characters."
EMPTY = "Must not be empty."
NOT_BOOLEAN = "Must be true or false."
BAD_DATETIME = "Must be an ISO 8601 date and time with a time zone, e.g. 2026-11-23T08:30:00Z."
SENT_IN_FUTURE = "sent_at must not be in the future."
UNKNOWN_STATUS = "Unknown status {value!r}: use converted, not_converted or converted_with_others."
NO_MESSAGE_REF = "Give message_id (the provider's id) or out_id (your own reference)."

MESSAGE_FIELDS = ("message_id", "phone", "sent_at", "template_code", "out_id", "trackable", "content")
CONVERSION_FIELDS = ("message_id", "out_id", "status", "converted_at")
STATUSES = frozenset(ConversionStatus.values)  # computed once: .values builds a new list on every access
CLOCK_SKEW = timedelta(minutes=1)  # the sender's clock may run slightly ahead of ours


class _Fields:
    """Collects per-field errors while reading one item."""

    def __init__(self, data: dict, allowed: tuple[str, ...]):
        self.errors: dict[str, str] = {}
        self.data = data
        for name in self.data:
            if name not in allowed:
                self.errors[str(name)[:64]] = UNKNOWN_FIELD.format(fields=", ".join(allowed))

    def text(self, name: str, *, required: bool = False, max_length: int = 64) -> str:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.errors[name] = REQUIRED
            return ""
        if not isinstance(value, str):
            self.errors[name] = NOT_STRING
        elif len(value) > max_length:
            self.errors[name] = TOO_LONG.format(max=max_length)
        elif not value.strip():
            self.errors[name] = EMPTY
        else:
            return value.strip()
        return ""

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.errors[name] = NOT_BOOLEAN
            return default
        return value

    def moment(self, name: str, *, required: bool = True) -> datetime | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors[name] = REQUIRED
            return None
        parsed = _parse_datetime(value)
        if parsed is None:
            self.errors[name] = BAD_DATETIME
        return parsed


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return None
    if parsed is None or timezone.is_naive(parsed):
        return None
    return parsed


def parse_message(data: Any) -> tuple[MessageInput | None, dict[str, str]]:
    if not isinstance(data, dict):
        return None, {"item": NOT_OBJECT}
    f = _Fields(data, MESSAGE_FIELDS)
    message_id = f.text("message_id", required=True)
    phone = f.text("phone", required=True, max_length=20)
    if phone and not phones.is_e164(phone):
        f.errors["phone"] = phones.INVALID_PHONE
    sent_at = f.moment("sent_at")
    if sent_at and sent_at > timezone.now() + CLOCK_SKEW:
        f.errors["sent_at"] = SENT_IN_FUTURE
    fields = dict(
        template_code=f.text("template_code"),
        out_id=f.text("out_id"),
        trackable=f.boolean("trackable", True),
        content=f.text("content", max_length=2000),
    )
    if f.errors:
        return None, f.errors
    return MessageInput(provider_message_id=message_id, phone=phone, sent_at=sent_at, **fields), {}


def parse_conversion(data: Any) -> tuple[ConversionInput | None, dict[str, str]]:
    if not isinstance(data, dict):
        return None, {"item": NOT_OBJECT}
    f = _Fields(data, CONVERSION_FIELDS)
    message_id, out_id = f.text("message_id"), f.text("out_id")
    if not message_id and not out_id and "message_id" not in f.errors and "out_id" not in f.errors:
        f.errors["message_id"] = NO_MESSAGE_REF
    status = f.data.get("status")
    if status is None:
        f.errors["status"] = REQUIRED
    elif not isinstance(status, str) or status not in STATUSES:
        f.errors["status"] = UNKNOWN_STATUS.format(value=str(status)[:40])
    converted_at = f.moment("converted_at") if "converted_at" in f.data else timezone.now()
    if f.errors:
        return None, f.errors
    return ConversionInput(status=status, converted_at=converted_at, provider_message_id=message_id, out_id=out_id), {}
