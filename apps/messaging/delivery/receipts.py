"""Receipts that arrived before their message: matched when the application reports the send.

The message-recording service calls match_pending_receipts(messages) right after inserting them;
the delivery sync also calls it for the messages it looks at, so nothing waits on one caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.messaging.delivery.matching import MATCH_TOLERANCE, match_records
from apps.messaging.delivery.services import delivery_apply
from apps.messaging.models import DeliveryReceipt, SentMessage
from apps.providers.clients.base import DeliveryRecord, DeliveryState


def match_pending_receipts(messages: Iterable[SentMessage]) -> int:
    """Apply the stored receipts of these messages; returns how many receipts were matched."""
    by_account: dict[int, list[SentMessage]] = defaultdict(list)
    for message in messages:
        by_account[message.account_id].append(message)
    return sum(_match_account(group) for group in by_account.values())


def _match_account(messages: list[SentMessage]) -> int:
    receipts = list(_unmatched_for(messages))
    if not receipts:
        return 0
    account = messages[0].account
    records = [receipt_as_record(r) for r in receipts]
    found = match_records(account=account, records=records, candidates=messages)
    pairs = [(r, rec, m) for r, rec, m in zip(receipts, records, found, strict=True) if m is not None]
    if not pairs:
        return 0
    with transaction.atomic():
        delivery_apply(
            account=account,
            records=[rec for _, rec, _ in pairs],
            source=pairs[0][0].source,
            candidates=[m for _, _, m in pairs],
        )
        now = timezone.now()
        for receipt, _, message in pairs:
            DeliveryReceipt.objects.filter(pk=receipt.pk, matched_at__isnull=True).update(
                message=message, matched_at=now, updated_at=now
            )
    return len(pairs)


def _unmatched_for(messages: list[SentMessage]):
    ids = [m.provider_message_id for m in messages]
    phones = {m.phone for m in messages}
    first = min(m.sent_at for m in messages) - MATCH_TOLERANCE
    last = max(m.sent_at for m in messages) + MATCH_TOLERANCE
    by_row = Q(provider_message_id="", phone__in=phones, sent_at__gte=first, sent_at__lte=last)
    return DeliveryReceipt.objects.filter(
        Q(provider_message_id__in=ids) | by_row, account_id=messages[0].account_id, matched_at__isnull=True
    ).order_by("pk")


def receipt_as_record(receipt: DeliveryReceipt) -> DeliveryRecord:
    return DeliveryRecord(
        message_id=receipt.provider_message_id,
        phone=receipt.phone,
        state=DeliveryState(receipt.state),
        error_code=receipt.error_code,
        received_at=receipt.received_at,
        sent_at=receipt.sent_at,
        template_code=receipt.template_code,
        out_id=receipt.out_id,
    )


def match_stored_receipts(*, account, limit: int = 5000) -> int:
    """The other direction, run by each delivery sync: look for the messages of unmatched receipts,
    in case a message arrived without match_pending_receipts being called for it."""
    receipts = list(DeliveryReceipt.objects.filter(account=account, matched_at__isnull=True).order_by("pk")[:limit])
    if not receipts:
        return 0
    ids = [r.provider_message_id for r in receipts if r.provider_message_id]
    rows = [r for r in receipts if not r.provider_message_id and r.sent_at]
    found = Q(provider_message_id__in=ids)
    if rows:
        first = min(r.sent_at for r in rows) - MATCH_TOLERANCE
        last = max(r.sent_at for r in rows) + MATCH_TOLERANCE
        found |= Q(phone__in={r.phone for r in rows}, sent_at__gte=first, sent_at__lte=last)
    messages = list(SentMessage.objects.filter(found, account=account).select_related("account"))
    return match_pending_receipts(messages) if messages else 0
