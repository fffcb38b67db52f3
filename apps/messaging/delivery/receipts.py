"""Receipts that arrived before their message: matched when the application reports the send.

The message-recording service calls match_pending_receipts(messages) right after inserting them;
the delivery sync also calls it for the messages it looks at, so nothing waits on one caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.messaging.delivery.matching import MATCH_TOLERANCE, match_records
from apps.messaging.delivery.services import delivery_apply
from apps.messaging.models import DeliveryReceipt, SentMessage
from apps.providers.clients.base import DeliveryRecord, DeliveryState
from smsdash.boundary import moment_rule


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
    found = Q(provider_message_id__in=[m.provider_message_id for m in messages])
    if span := _span(m.sent_at for m in messages):
        found |= Q(provider_message_id="", phone__in={m.phone for m in messages}, sent_at__range=span)
    receipts = DeliveryReceipt.objects.filter(found, account_id=messages[0].account_id, matched_at__isnull=True)
    return receipts.order_by("pk")


def _span(times: Iterable[datetime | None]) -> tuple[datetime, datetime] | None:
    """The first and last time, widened by MATCH_TOLERANCE, of those inside the input window. A row
    stored before the window existed may hold year 1, which minus the tolerance overflows; it
    could only match another such row, so it is left out rather than fail the whole match."""
    now = timezone.now()
    usable = [t for t in times if t is not None and moment_rule(t, now=now) is None]
    if not usable:
        return None
    return min(usable) - MATCH_TOLERANCE, max(usable) + MATCH_TOLERANCE


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
    rows = [r for r in receipts if not r.provider_message_id]
    found = Q(provider_message_id__in=ids)
    if span := _span(r.sent_at for r in rows):
        found |= Q(phone__in={r.phone for r in rows}, sent_at__range=span)
    messages = list(SentMessage.objects.filter(found, account=account).select_related("account"))
    return match_pending_receipts(messages) if messages else 0
