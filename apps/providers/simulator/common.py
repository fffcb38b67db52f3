"""Small helpers the provider simulators share."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from apps.providers.clients.aliyun import MAINLAND_MOBILE_RE

CHINA_TIME = timezone(timedelta(hours=8), "CST")
CLOCK_SKEW = timedelta(seconds=5)  # tolerated between the caller's clock and ours


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def now() -> datetime:
    return datetime.now(UTC)


def e164(number: str, *, mainland_default: bool = False) -> str:
    """'+8613800138000', '8613800138000' or (Alibaba) '13800138000' -> '+8613800138000'.

    Alibaba takes mainland numbers as 11 digits and others with their country code: '14155552222' is
    +1 415 555 2222, as no mainland mobile number starts 141."""
    digits = number.strip().lstrip("+")
    if mainland_default and MAINLAND_MOBILE_RE.fullmatch(digits):
        digits = "86" + digits
    return "+" + digits


def as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
