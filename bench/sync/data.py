"""Deterministic data for the delivery-sync benchmark: 100,000 pending messages over 10,000 phones.

Most phones get a handful of messages spread over the last week; a few "busy" phones get 150 on
one day, so Alibaba has to page (50 rows a page). A further 1% of messages exist only at the
provider (another system sent them): the sync must record them, not drop them.
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


def generate(*, messages: int = 100_000, phones: int = 10_000, busy_phones: int = 50, seed: int = 5) -> list[Row]:
    rng = random.Random(seed)
    busy_phones = min(busy_phones, messages // 2000)
    today = datetime.now(UTC).astimezone(CHINA).date()
    numbers = [f"+86138{n:08d}" for n in range(phones)]
    busy, regular = numbers[:busy_phones], numbers[busy_phones:]
    plan: list[tuple[str, datetime]] = []
    for phone in busy:  # 150 on one day: three full pages
        start = datetime.combine(today - timedelta(days=2), time(9, 0), tzinfo=CHINA)
        plan += [(phone, start + timedelta(minutes=2 * i)) for i in range(150)]
    remaining = messages - len(plan)
    for i in range(remaining):
        phone = regular[i % len(regular)]  # every regular phone gets its share
        day = today - timedelta(days=rng.randrange(1, 7))
        plan.append((phone, datetime.combine(day, time(8, 0), tzinfo=CHINA) + timedelta(seconds=rng.randrange(50_000))))
    rows = [
        Row(f"{10**14 + n}^{rng.randrange(10**9)}", phone, sent_at, _outcome(rng), known=True)
        for n, (phone, sent_at) in enumerate(plan)
    ]
    # Sent by another system (another template) to phones smsdash also asks about, the same day.
    extra = [
        Row(f"{2 * 10**14 + n}^0", row.phone, row.sent_at + timedelta(seconds=1), "delivered", False, "SMS_OTHER")
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
