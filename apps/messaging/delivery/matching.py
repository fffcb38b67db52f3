"""Which message a provider's delivery record is about.

Tencent and Plivo records carry the message id, Alibaba's pushed SmsReport carries its BizId, but
Alibaba's QuerySendDetails rows carry none: they name the phone, the send time, the template and the
OutId. Those are matched to the messages of the same phone by OutId, else by the nearest send time
(same template when both name one) within MATCH_TOLERANCE; each message is matched at most once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from apps.messaging.models import SentMessage
from apps.providers.clients.base import DeliveryRecord
from apps.providers.models import ProviderAccount

# The application reports its own send time; the provider stamps its own. They differ by seconds,
# two sends to one phone by a minute or more (providers throttle OTPs per number per minute).
MATCH_TOLERANCE = timedelta(minutes=2)


def match_records(
    *, account: ProviderAccount, records: Sequence[DeliveryRecord], candidates: Iterable[SentMessage] | None = None
) -> list[SentMessage | None]:
    """The message of each record (None: not known here), in the order of records."""
    pool = list(candidates) if candidates is not None else _candidates(account, records)
    by_id = {m.provider_message_id: m for m in pool}
    missing_ids = [r.message_id for r in records if r.message_id and r.message_id not in by_id]
    if missing_ids:
        by_id.update(
            (m.provider_message_id, m)
            for m in SentMessage.objects.filter(account=account, provider_message_id__in=missing_ids)
        )
    taken: set[int] = set()
    matched: list[SentMessage | None] = []
    for record in records:
        message = by_id.get(record.message_id) if record.message_id else _match_without_id(record, pool, taken)
        if message is not None:
            taken.add(message.pk)
        matched.append(message)
    return matched


def _candidates(account: ProviderAccount, records: Sequence[DeliveryRecord]) -> list[SentMessage]:
    """Messages that records without an id could be about: same phone, send time within tolerance."""
    pool: dict[int, SentMessage] = {}
    for record in records:
        if record.message_id or not record.sent_at:
            continue
        nearby = SentMessage.objects.filter(
            account=account,
            phone=record.phone,
            sent_at__gte=record.sent_at - MATCH_TOLERANCE,
            sent_at__lte=record.sent_at + MATCH_TOLERANCE,
        )
        pool.update((m.pk, m) for m in nearby)
    return list(pool.values())


def _match_without_id(record: DeliveryRecord, pool: list[SentMessage], taken: set[int]) -> SentMessage | None:
    same_phone = [m for m in pool if m.phone == record.phone and m.pk not in taken]
    if record.out_id:
        for message in same_phone:
            if message.out_id == record.out_id:
                return message
    if record.sent_at is None:
        return None
    best, best_gap = None, MATCH_TOLERANCE
    for message in same_phone:
        if record.template_code and message.template_code and record.template_code != message.template_code:
            continue
        if record.out_id and message.out_id:
            continue  # both name an OutId and they differ: not this one
        gap = abs(message.sent_at - record.sent_at)
        if gap <= best_gap:
            best, best_gap = message, gap
    return best
