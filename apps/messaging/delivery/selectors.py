"""Reads about delivery the admin shows: receipts still unmatched, messages still without a receipt."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.messaging.models import DeliveryReceipt, DeliveryStatus, SentMessage

OVERDUE_HOURS = 6  # an OTP is useless after minutes; no receipt after hours means the provider lost it


def unmatched_receipt_count(*, account=None) -> int:
    receipts = DeliveryReceipt.objects.filter(matched_at__isnull=True)
    return (receipts.filter(account=account) if account else receipts).count()


def overdue_message_count(*, account=None, hours: int = OVERDUE_HOURS) -> int:
    """Pending messages sent more than `hours` ago (the partial index on pending messages serves this)."""
    pending = SentMessage.objects.filter(
        delivery_status=DeliveryStatus.PENDING, sent_at__lt=timezone.now() - timedelta(hours=hours)
    )
    return (pending.filter(account=account) if account else pending).count()
