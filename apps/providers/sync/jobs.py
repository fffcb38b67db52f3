"""Sync jobs (django-rq, queue "sync"): thin, they load ids and call the engine."""

from __future__ import annotations

from apps.providers.models import ProviderAccount, SyncKind
from apps.providers.sync.engine import sync_execute
from apps.providers.sync.schedule import sync_runs_purge, sync_schedule


def template_review_sync_job(account_id: int, template_ids: list[int] | None = None, trigger: str = "schedule"):
    account = ProviderAccount.objects.filter(pk=account_id).first()
    if account is None:
        return None
    scope = {"templates": template_ids} if template_ids is not None else {}
    run = sync_execute(account=account, kind=SyncKind.TEMPLATES, scope=scope, trigger=trigger)
    return run.pk if run else None


def sync_schedule_job() -> int:
    """The cron entry (smsdash/cron.py): start the syncs that are due."""
    from apps.messaging.delivery.jobs import webhook_nonces_purge_job

    webhook_nonces_purge_job()
    sync_runs_purge()
    return sync_schedule()
