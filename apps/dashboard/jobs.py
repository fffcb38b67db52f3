"""Dashboard jobs: thin wrappers that load ids and call the service."""

from __future__ import annotations

from smsdash.queue import enqueue


def rollups_refresh_job() -> int:
    from apps.dashboard.rollups import rollups_refresh

    return rollups_refresh()


def drops_check_job() -> int:
    from apps.dashboard.alerts import drops_record

    return len(drops_record())


def alert_notify_job(alert_id: int) -> None:
    from apps.dashboard.alerts import alert_notify
    from apps.dashboard.models import DropAlert

    alert = DropAlert.objects.filter(pk=alert_id, notified_at__isnull=True).first()
    if alert is not None:
        alert_notify(alert=alert)


def enqueue_alert_notify(alert_id: int) -> None:
    enqueue(alert_notify_job, alert_id)


def export_run_job(record_id: int) -> None:
    from apps.dashboard.export_jobs import export_run

    export_run(record_id=record_id)
