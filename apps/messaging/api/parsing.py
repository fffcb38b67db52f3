"""JSON items -> service inputs, field by field through the one table of fields (fields.py).

Each error names the field and the rule; the rules on text, times and digits are smsdash/boundary.py's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.messaging import phone as phones
from apps.messaging.api.fields import BOOLEAN, CHOICE, MOMENT, PHONE, TEXT, Field
from apps.messaging.models import ConversionStatus
from apps.messaging.services.inputs import ConversionInput, MessageInput
from smsdash.boundary import digits_rule, moment_rule, text_rule

REQUIRED = "This field is required."
NOT_OBJECT = "Each item must be a JSON object."
UNKNOWN_FIELD = "Unknown field: the accepted fields are {fields}."
NOT_STRING = "Must be a string."
NOT_BOOLEAN = "Must be true or false."
BAD_DATETIME = "Must be an RFC 3339 date and time with a time zone offset, e.g. 2026-11-23T08:30:00Z."
NO_SUCH_DAY = "Must be a day the calendar has (2026-02-30 is not)."
UNKNOWN_CHOICE = "Unknown {name} {value!r}: use {choices}."
NO_MESSAGE_REF = "Give message_id (the provider's id) or out_id (your own reference)."

WINDOW = (
    "RFC 3339 with an offset within ±14:00, not before INPUT_EARLIEST_DATE (default 2000-01-01) and not more "
    "than INPUT_FUTURE_TOLERANCE_SECONDS (default 300) ahead of the server's clock."
)
MESSAGE = (
    Field("message_id", max_length=64, required=True, description="Alibaba BizId, Tencent SerialNo, Plivo uuid"),
    Field("phone", PHONE, required=True, description="E.164, ASCII digits, e.g. +6591234567"),
    Field("sent_at", MOMENT, required=True, description=f"When the message was sent: {WINDOW}"),
    Field("template_code", max_length=64),
    Field("out_id", max_length=64, description="Your own reference for the message"),
    Field("trackable", BOOLEAN, default=True, description="Plivo: sent with trackable=true"),
    Field("content", max_length=2000, multiline=True, description="The text sent (tab and line breaks allowed)"),
)
CONVERSION = (
    Field("message_id", max_length=64, description="The provider's message id (or give out_id)"),
    Field("out_id", max_length=64, description="Your own reference, when it is unique in the account"),
    Field("status", CHOICE, required=True, choices=tuple(ConversionStatus.values)),
    Field("converted_at", MOMENT, description=f"When the code was entered; default: now. {WINDOW}"),
)
MESSAGE_FIELDS = tuple(f.name for f in MESSAGE)
CONVERSION_FIELDS = tuple(f.name for f in CONVERSION)


def read_fields(data: dict, fields: tuple[Field, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    """Every field's value (its default when absent or null), and field -> rule for the bad ones."""
    names = [f.name for f in fields]
    errors = {str(name)[:64]: UNKNOWN_FIELD.format(fields=", ".join(names)) for name in data if name not in names}
    values = {}
    for field in fields:
        value, rule = read_value(field, data.get(field.name))
        if rule:
            errors[field.name] = rule
        values[field.name] = value
    return values, errors


def read_value(field: Field, value: Any) -> tuple[Any, str | None]:
    if value is None or (value == "" and field.kind == TEXT):
        return (field.default if field.kind == BOOLEAN else value), (REQUIRED if field.required else None)
    if field.kind == BOOLEAN:
        return value, None if isinstance(value, bool) else NOT_BOOLEAN
    if not isinstance(value, str):
        return None, NOT_STRING
    if field.kind == CHOICE:
        choices = ", ".join(field.choices)
        rule = (
            None
            if value in field.choices
            else UNKNOWN_CHOICE.format(name=field.name, value=value[:40], choices=choices)
        )
        return value, rule
    rule = text_rule(value, max_length=field.max_length, multiline=field.multiline)
    if rule:
        return value, rule
    if field.kind == PHONE:
        return value, digits_rule(value) or (None if field.regex.match(value) else phones.INVALID_PHONE)
    if field.kind == MOMENT:
        return read_moment(field, value)
    return value, None


def read_moment(field: Field, value: str) -> tuple[datetime | None, str | None]:
    if not field.regex.match(value):
        return None, BAD_DATETIME
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:  # the pattern has the shape; the calendar has no 2026-02-30 and no year 0
        return None, NO_SUCH_DAY
    return moment, moment_rule(moment)


def parse_message(data: Any) -> tuple[MessageInput | None, dict[str, str]]:
    if not isinstance(data, dict):
        return None, {"item": NOT_OBJECT}
    values, errors = read_fields(data, MESSAGE)
    if errors:
        return None, errors
    return MessageInput(provider_message_id=values.pop("message_id"), **_text(values)), {}


def parse_conversion(data: Any) -> tuple[ConversionInput | None, dict[str, str]]:
    if not isinstance(data, dict):
        return None, {"item": NOT_OBJECT}
    values, errors = read_fields(data, CONVERSION)
    if not values["message_id"] and not values["out_id"] and not {"message_id", "out_id"} & set(errors):
        errors["message_id"] = NO_MESSAGE_REF
    if errors:
        return None, errors
    return ConversionInput(
        status=values["status"],
        converted_at=values["converted_at"] or timezone.now(),
        provider_message_id=values["message_id"] or "",
        out_id=values["out_id"] or "",
    ), {}


def _text(values: dict) -> dict:
    # Optional text given as null is stored as "", as when absent.
    return {name: "" if value is None else value for name, value in values.items()}
