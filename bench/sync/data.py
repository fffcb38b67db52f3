"""Deterministic data for the delivery-sync benchmark: 100,000 pending messages over 10,000 phones.

Most phones get a handful of messages spread over the last `days` days; a few "busy" phones get 150
on one day, so the provider has to page (Alibaba 50 rows a page, Tencent 100). A further 1% of
messages exist only at the provider (another system sent them): the sync must record them, not drop them.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8))
OUTCOMES = [("delivered", 0.90), ("failed", 0.07), ("pending", 0.03)]


@dataclass(frozen=True)
class Row:
    message_id: str
    phone: str
    sent_at: datetime
    delivery: str
    known: bool  # smsdash has it (the application reported the send)
    template_code: str = "SMS_470000001"


ZONES = {"aliyun": CHINA, "tencent": UTC}  # the calendar each provider files send dates by
TEMPLATES = {"aliyun": "SMS_470000001", "tencent": "2100001"}


def message_id(provider: str, n: int, rng: random.Random) -> str:
    if provider == "tencent":
        return f"2640:{10**19 + n}{rng.randrange(10**9):09d}"
    return f"{10**14 + n}^{rng.randrange(10**9)}"


def other_id(provider: str, n: int) -> str:
    return f"2640:{2 * 10**19 + n}" if provider == "tencent" else f"{2 * 10**14 + n}^0"


def generate(
    *,
    messages: int = 100_000,
    phones: int = 10_000,
    busy_phones: int = 50,
    seed: int = 5,
    provider: str = "aliyun",
    days: int = 6,
) -> list[Row]:
    rng = random.Random(seed)
    zone, template = ZONES[provider], TEMPLATES[provider]
    busy_phones = min(busy_phones, messages // 2000)
    today = datetime.now(UTC).astimezone(zone).date()
    numbers = [f"+86138{n:08d}" for n in range(phones)]
    busy, regular = numbers[:busy_phones], numbers[busy_phones:]
    plan: list[tuple[str, datetime]] = []
    for phone in busy:  # 150 on one day: three full pages
        start = datetime.combine(today - timedelta(days=2), time(9, 0), tzinfo=zone)
        plan += [(phone, start + timedelta(minutes=2 * i)) for i in range(150)]
    remaining = messages - len(plan)
    for i in range(remaining):
        phone = regular[i % len(regular)]  # every regular phone gets its share
        day = today - timedelta(days=rng.randrange(1, days + 1))
        plan.append((phone, datetime.combine(day, time(8, 0), tzinfo=zone) + timedelta(seconds=rng.randrange(50_000))))
    rows = [
        Row(message_id(provider, n, rng), phone, sent_at, _outcome(rng), known=True, template_code=template)
        for n, (phone, sent_at) in enumerate(plan)
    ]
    # Sent by another system (another template) to phones smsdash also asks about, the same day.
    extra = [
        Row(other_id(provider, n), row.phone, row.sent_at + timedelta(seconds=1), "delivered", False, "SMS_OTHER")
        for n, row in enumerate(rows[-(messages // 100) :])
    ]
    return rows + extra


def _outcome(rng: random.Random) -> str:
    x, acc = rng.random(), 0.0
    for outcome, share in OUTCOMES:
        acc += share
        if x < acc:
            return outcome
    return OUTCOMES[-1][0]


def minimum_calls(rows: list[Row], *, page_size: int = 50) -> int:
    """The anchor: QuerySendDetails answers one phone and one send date per call, page_size rows a
    page, so no client can learn every pending message's status with fewer calls than, over the
    (phone, date) groups holding one, the sum of ceil(rows the provider has there / page_size)."""

    def group(row: Row):
        return row.phone, row.sent_at.astimezone(CHINA).date()

    per_group = Counter(group(r) for r in rows)
    asked = {group(r) for r in rows if r.known}
    return sum(math.ceil(per_group[g] / page_size) for g in asked)


def tencent_minimum_calls(rows: list[Row], *, now: datetime, limit: int = 100) -> int:
    """The anchor for Tencent: PullSmsSendStatusByPhoneNumber answers one phone over any time range
    of the last 7 days, `limit` receipts a call, with no total (a full page needs one more call to
    learn it was the last). The range cannot start after the phone's earliest pending message, so no
    client can do with fewer than, over the phones holding one, the sum of
    receipts there from that message's send second to now // limit + 1."""
    return sum(n // limit + 1 for n in _receipts_since_first(rows, now).values())


def tencent_day_group_calls(rows: list[Row], *, now: datetime, limit: int = 100) -> int:
    """What the previous planner asked (computed, not measured): one PullSmsSendStatusByPhoneNumber
    query per (phone, UTC send date) holding a pending message, over that date and the next."""
    groups = {(r.phone, r.sent_at.astimezone(UTC).date()) for r in rows if r.known}
    receipts = [(r.phone, _receipt_at(r)) for r in rows if r.delivery != "pending"]
    by_phone: dict[str, list[datetime]] = {}
    for phone, at in receipts:
        by_phone.setdefault(phone, []).append(at)
    total = 0
    for phone, day in groups:
        begin = datetime.combine(day, time.min, tzinfo=UTC)
        end = min(begin + timedelta(days=2), now)
        total += sum(begin <= at <= end for at in by_phone.get(phone, [])) // limit + 1
    return total


def _receipt_at(row: Row) -> datetime:
    """When the simulator files a receipt: 3 s after the send when delivered, the send when failed."""
    return row.sent_at + timedelta(seconds=3) if row.delivery == "delivered" else row.sent_at


def _receipts_since_first(rows: list[Row], now: datetime) -> Counter:
    first: dict[str, datetime] = {}
    for r in rows:
        if r.known and (r.phone not in first or r.sent_at < first[r.phone]):
            first[r.phone] = r.sent_at.replace(microsecond=0)
    counts: Counter = Counter({phone: 0 for phone in first})
    for r in rows:
        if r.phone in first and r.delivery != "pending" and first[r.phone] <= _receipt_at(r) <= now:
            counts[r.phone] += 1
    return counts
