"""Typed inputs of the messaging services, and the per-item outcome they answer with.

The API parses JSON into these (field by field, naming each bad field); the services then apply
the rules that need the database (unknown message, conversion before the send time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class MessageInput:
    provider_message_id: str
    phone: str
    sent_at: datetime
    template_code: str = ""
    out_id: str = ""
    trackable: bool = True
    content: str = ""


@dataclass(frozen=True)
class ConversionInput:
    status: str
    converted_at: datetime
    provider_message_id: str = ""  # one of the two identifies the message
    out_id: str = ""


class Outcome:
    CREATED = "created"
    DUPLICATE = "duplicate"
    ERROR = "error"


@dataclass
class ItemResult:
    """What became of one submitted item: created, duplicate (nothing written) or error (nothing written)."""

    index: int
    outcome: str
    id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, index: int, errors: dict[str, str]) -> ItemResult:
        return cls(index=index, outcome=Outcome.ERROR, errors=errors)

    def as_dict(self) -> dict:
        data: dict = {"index": self.index, "result": self.outcome}
        if self.id is not None:
            data["id"] = self.id
        if self.errors:
            data["errors"] = self.errors
        return data
