"""Delivery jobs (django-rq, queue "sync"): thin, they load ids and call the sync engine."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.messaging.models import WebhookNonce
from apps.providers.models import ProviderAccount, SyncKind

NONCE_MEMORY = timedelta(days=2)  # a replay older than this is refused by nothing but the idempotent apply


def delivery_sync_job(account_id: int, message_ids: list[int] | None = None, trigger: str = "schedule"):
    from apps.providers.sync.engine import sync_execute

    account = ProviderAccount.objects.filter(pk=account_id).first()
    if account is None:
        return None
    scope = {"messages": message_ids} if message_ids is not None else {}
    run = sync_execute(account=account, kind=SyncKind.DELIVERY, scope=scope, trigger=trigger)
    return run.pk if run else None


def webhook_nonces_purge_job() -> int:
    deleted, _ = WebhookNonce.objects.filter(seen_at__lt=timezone.now() - NONCE_MEMORY).delete()
    return deleted
