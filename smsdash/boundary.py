"""The rules every value entering smsdash passes before it reaches the database.

The ingest API, the providers' webhooks and the admin forms read their input in their own shapes
(JSON items, receipt arrays, form fields), then ask these functions whether a value is acceptable.
Each returns the rule a value breaks, as a sentence a caller can put next to the field name, or
None: so the API answers 4xx naming the field and the rule, a webhook answers the provider as its
documentation asks, and a form shows the message under the field.

Why these rules: PostgreSQL refuses NUL in text and timestamps before 4713 BC, psycopg cannot
encode a lone surrogate, and a year-1 timestamp passes both databases but breaks every
date_trunc and timezone conversion after it (one such row once took the dashboard down). Control
characters in an id or a code are never legitimate, and a digit outside ASCII (Arabic-Indic ٤,
mathematical 𝟡) matches Python's \\d but no provider's number plan.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

CONTROL_CHARACTER = "Must not contain control characters (such as NUL, U+0000) or unpaired surrogates."
TOO_LONG = "Must be at most {max} characters."
NAIVE_TIME = "Must include a time zone offset, e.g. 2026-11-23T08:30:00Z."
OFFSET_OUT_OF_RANGE = "The UTC offset must lie within -14:00 and +14:00."
TOO_EARLY = "Must not be before {earliest}."
TOO_LATE = "Must not be more than {seconds} seconds in the future."
NOT_ASCII_DIGITS = "Digits must be ASCII 0-9."

# C0 and C1 controls, DEL, and the surrogate range (only reachable as a lone surrogate in a str).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_UTC_OFFSET = timedelta(hours=14)  # Kiribati (+14:00) and Baker Island (-12:00) bound real offsets


def text_rule(value: str, *, max_length: int | None = None, multiline: bool = False) -> str | None:
    """The rule a text value breaks, or None. multiline allows tab, newline and carriage return
    (SMS content, template bodies); ids, codes and names allow no control character at all."""
    pattern = _FORBIDDEN if multiline else _FORBIDDEN_IN_LINE
    if pattern.search(value):
        return CONTROL_CHARACTER
    if max_length is not None and len(value) > max_length:
        return TOO_LONG.format(max=max_length)
    return None


def earliest_moment() -> datetime:
    day = date.fromisoformat(settings.INPUT_EARLIEST_DATE)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def moment_rule(value: datetime, *, now: datetime | None = None) -> str | None:
    """The rule a time breaks, or None: aware, offset within ±14:00, between INPUT_EARLIEST_DATE
    and a few minutes from now (INPUT_FUTURE_TOLERANCE_SECONDS)."""
    offset = value.utcoffset()
    if offset is None:
        return NAIVE_TIME
    if abs(offset) > MAX_UTC_OFFSET:
        return OFFSET_OUT_OF_RANGE
    earliest = earliest_moment()
    tolerance = settings.INPUT_FUTURE_TOLERANCE_SECONDS
    # Comparing aware datetimes never converts them, so 0001-01-01T00:30+01:00 (no UTC
    # equivalent: astimezone would overflow) is compared safely.
    if value < earliest:
        return TOO_EARLY.format(earliest=earliest.date().isoformat())
    if value > (now or timezone.now()) + timedelta(seconds=tolerance):
        return TOO_LATE.format(seconds=tolerance)
    return None


def digits_rule(value: str) -> str | None:
    """The rule a number made of digits breaks when one of them is not ASCII, or None."""
    if any(ch.isdigit() and not ("0" <= ch <= "9") for ch in value):
        return NOT_ASCII_DIGITS
    return None


def validate_text(value: str) -> None:
    """A Django validator for single-line text fields of admin forms."""
    rule = text_rule(value)
    if rule:
        raise ValidationError(rule, code="control_character")


def validate_multiline_text(value: str) -> None:
    """A Django validator for multi-line text fields (template bodies, notes)."""
    rule = text_rule(value, multiline=True)
    if rule:
        raise ValidationError(rule, code="control_character")


class BoundaryFormMixin:
    """Admin forms: every text field also validates with text_rule, as Django's own CharField
    refuses NUL: a Textarea is multi-line (tab and line breaks allowed), any other text field
    single-line. Put it before forms.Form / forms.ModelForm in the bases."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                multiline = isinstance(field.widget, forms.Textarea)
                field.validators.append(validate_multiline_text if multiline else validate_text)
