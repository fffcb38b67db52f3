"""The fields of the ingest API, defined once.

The parser reads every value through these definitions and the OpenAPI document describes every
field from them, so a type, a length, a pattern or a required field cannot say one thing in the
schema and another in the parser. What a JSON schema cannot say (a time window that moves with the
clock, a message that must exist) is in the field's description and is checked by the rules of
smsdash/boundary.py and the services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apps.messaging.phone import E164_RE
from smsdash.boundary import text_rule

TEXT, PHONE, MOMENT, DAY_OR_MOMENT, BOOLEAN, CHOICE = "text", "phone", "moment", "day", "boolean", "choice"

# RFC 3339 with its fields bounded (no leap second), the shape both the schema and the
# parser accept; the window (INPUT_EARLIEST_DATE .. a few minutes ahead, offsets within ±14:00) is the
# boundary's moment_rule.
_DATE = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
MOMENT_PATTERN = f"^{_DATE}{_TIME}$"
DAY_OR_MOMENT_PATTERN = f"^({_DATE}({_TIME})?)?$"  # stats: a day, a moment, or empty for the default
E164_PATTERN = E164_RE.pattern


def _refused_class(multiline: bool) -> str:
    """A regex class of the characters text_rule refuses below U+0100 (where all of them lie, lone
    surrogates apart, which JSON Schema cannot name), asked of the boundary rather than copied."""
    refused = [code for code in range(0x100) if text_rule(chr(code), multiline=multiline)]
    ranges: list[list[int]] = []
    for code in refused:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(rf"\u{a:04x}" if a == b else rf"\u{a:04x}-\u{b:04x}" for a, b in ranges)


LINE_PATTERN = f"^[^{_refused_class(multiline=False)}]*$"
MULTILINE_PATTERN = f"^[^{_refused_class(multiline=True)}]*$"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = TEXT
    max_length: int | None = None
    required: bool = False
    multiline: bool = False
    choices: tuple[str, ...] = ()
    default: object = None
    description: str = ""
    nullable: bool = True  # query parameters have no null

    @property
    def pattern(self) -> str | None:
        if self.kind == TEXT:
            return MULTILINE_PATTERN if self.multiline else LINE_PATTERN
        return {PHONE: E164_PATTERN, MOMENT: MOMENT_PATTERN, DAY_OR_MOMENT: DAY_OR_MOMENT_PATTERN}.get(self.kind)

    @property
    def regex(self) -> re.Pattern | None:
        return _compiled(self.pattern) if self.pattern else None

    def schema(self) -> dict:
        """The JSON schema of the value: null stands for an absent optional value."""
        kind = "boolean" if self.kind == BOOLEAN else "string"
        schema: dict = {"type": [kind, "null"] if self.nullable and not self.required else kind}
        if self.required and kind == "string":
            schema["minLength"] = 1
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.pattern:
            schema["pattern"] = self.pattern
        if self.kind == MOMENT:
            schema["format"] = "date-time"
        if self.choices:
            schema["enum"] = list(self.choices) + ([None] if self.nullable and not self.required else [])
        if self.default is not None:
            schema["default"] = self.default
        if self.description:
            schema["description"] = self.description
        return schema


_patterns: dict[str, re.Pattern] = {}


def _compiled(pattern: str) -> re.Pattern:
    # JSON Schema patterns are ECMA 262: $ ends the string; \Z says so to Python (its $ allows a final \n).
    if pattern not in _patterns:
        _patterns[pattern] = re.compile(pattern.removesuffix("$") + r"\Z")
    return _patterns[pattern]


def object_schema(fields: tuple[Field, ...], **extra: dict) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in fields if f.required],
        "properties": {**{f.name: f.schema() for f in fields}, **extra},
    }
