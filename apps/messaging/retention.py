"""Retention: messages, their conversions and delivery receipts older than their account's
retention_days are deleted, in bounded batches so no statement holds locks or builds a transaction
of millions of rows.

Cut-offs are whole UTC hours: an hour's rows go together, never half of them, so the dashboard's
hourly figures (which keep the deleted rows' counts, see apps/dashboard/retention.py) describe an
hour whose raw rows are either all there or all gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.utils import timezone

from apps.messaging.models import Conversion, DeliveryReceipt, SentMessage
from apps.providers.models import ProviderAccount

RETENTION_BATCH = 5_000


def retention_cutoffs(now: datetime | None = None) -> Iterator[tuple[int, datetime]]:
    """(account id, cut-off) per account: rows from before the cut-off have outlived retention."""
    now = now or timezone.now()
    for account_id, days in ProviderAccount.objects.order_by("pk").values_list("pk", "retention_days"):
        moment = now - timedelta(days=days)
        yield account_id, moment.replace(minute=0, second=0, microsecond=0)


def expired_batch_delete(*, account_id: int, cutoff: datetime, batch: int = RETENTION_BATCH) -> dict[str, int]:
    """Delete up to `batch` of the account's messages sent before cutoff, with their conversions and
    receipts, and up to `batch` receipts stored before cutoff that never met their message."""
    ids = list(
        SentMessage.objects.filter(account_id=account_id, sent_at__lt=cutoff)
        .order_by("sent_at")
        .values_list("pk", flat=True)[:batch]
    )
    counts = {"messages": 0, "conversions": 0, "receipts": 0}
    if ids:
        # Dependents first: each is then one plain DELETE, and the messages' own leaves nothing to cascade.
        counts["conversions"] = Conversion.objects.filter(message_id__in=ids).delete()[0]
        counts["receipts"] = DeliveryReceipt.objects.filter(message_id__in=ids).delete()[0]
        counts["messages"] = SentMessage.objects.filter(pk__in=ids).delete()[1].get(SentMessage._meta.label, 0)
    receipt_ids = list(
        DeliveryReceipt.objects.filter(account_id=account_id, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    if receipt_ids:
        counts["receipts"] += DeliveryReceipt.objects.filter(pk__in=receipt_ids).delete()[0]
    return counts
