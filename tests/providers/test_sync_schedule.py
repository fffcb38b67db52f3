"""Syncs start on schedule (per account interval) and on demand from the admin."""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from rq import SimpleWorker

from apps.messaging.models import SentMessage
from apps.providers.models import Provider, SyncKind, SyncRun, SyncStatus
from apps.providers.sync.jobs import sync_schedule_job
from apps.providers.sync.schedule import due_syncs, sync_runs_purge
from tests.factories import make_account
from tests.providers import sync_helpers
from tests.providers.sync_helpers import fresh_breaker, seed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_redis")]

isolated_redis = sync_helpers.isolated_redis

rq_sync = sync_helpers.rq_sync


@pytest.fixture
def inline_jobs(settings):
    """The admin actions' jobs run inline here (the Redis path is the cron test's)."""
    settings.REDIS_URL = ""
    settings.JOBS_INLINE = True


def started(account, kind, minutes_ago):
    run = SyncRun.objects.create(account=account, kind=kind, status=SyncStatus.SUCCEEDED)
    SyncRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(minutes=minutes_ago))


def test_each_account_is_due_every_sync_interval_minutes():
    every_five = make_account(Provider.ALIYUN)
    hourly = make_account(Provider.TENCENT, sync_interval_minutes=60)
    plivo = make_account(Provider.PLIVO)
    make_account(Provider.ALIYUN, is_active=False)
    assert {(a.name, k) for a, k in due_syncs()} == {
        (every_five.name, SyncKind.DELIVERY),
        (every_five.name, SyncKind.TEMPLATES),
        (hourly.name, SyncKind.DELIVERY),
        (hourly.name, SyncKind.TEMPLATES),
        (plivo.name, SyncKind.DELIVERY),  # Plivo has no template API
    }
    for kind in (SyncKind.DELIVERY, SyncKind.TEMPLATES):
        started(every_five, kind, 6)
        started(hourly, kind, 6)
    started(plivo, SyncKind.DELIVERY, 4)
    assert {(a.name, k) for a, k in due_syncs()} == {
        (every_five.name, SyncKind.DELIVERY),
        (every_five.name, SyncKind.TEMPLATES),
    }
    SyncRun.objects.create(account=every_five, kind=SyncKind.DELIVERY, heartbeat_at=timezone.now())
    assert {(a.name, k) for a, k in due_syncs()} == {(every_five.name, SyncKind.TEMPLATES)}  # still running


def test_runs_older_than_30_days_are_forgotten():
    account = make_account()
    started(account, SyncKind.DELIVERY, 31 * 24 * 60)
    started(account, SyncKind.DELIVERY, 29 * 24 * 60)
    assert sync_runs_purge() == 1
    assert SyncRun.objects.count() == 1


def test_the_cron_job_enqueues_due_syncs_and_a_worker_runs_them(
    rq_sync, simulator, simulated_account, django_capture_on_commit_callbacks
):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    seed(simulator, account, phone="+8613700000001", count=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_schedule_job() == 2
    queue = django_rq.get_queue("sync")
    assert queue.count == 2
    assert {job.timeout for job in queue.jobs} == {3600}  # a large first sync is not cut at rq's default
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    runs = {run.kind: run for run in SyncRun.objects.filter(account=account)}
    assert {kind: run.status for kind, run in runs.items()} == {
        SyncKind.DELIVERY: SyncStatus.SUCCEEDED,
        SyncKind.TEMPLATES: SyncStatus.SUCCEEDED,
    }
    assert set(SentMessage.objects.values_list("delivery_status", flat=True)) == {"delivered"}
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_schedule_job() == 0  # both just ran


def test_sync_now_for_an_account_runs_both_syncs(
    inline_jobs, admin_client, simulator, simulated_account, django_capture_on_commit_callbacks
):
    account = fresh_breaker(simulated_account(Provider.TENCENT))
    seed(simulator, account, phone="+8613700000002", count=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/providers/provideraccount/",
            {"action": "sync_accounts_now", "_selected_action": [account.pk]},
            follow=True,
        )
    assert "Sync started for 1 account(s): delivery status and template review" in response.content.decode()
    assert set(SyncRun.objects.values_list("kind", "trigger", "status")) == {
        (SyncKind.DELIVERY, "admin", SyncStatus.SUCCEEDED),
        (SyncKind.TEMPLATES, "admin", SyncStatus.SUCCEEDED),
    }
    assert set(SentMessage.objects.values_list("delivery_status", flat=True)) == {"delivered"}


def test_sync_now_for_selected_messages_asks_only_about_them(
    inline_jobs, admin_client, simulator, simulated_account, django_capture_on_commit_callbacks
):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    [chosen] = seed(simulator, account, phone="+8613700000003", count=1)
    [other] = seed(simulator, account, phone="+8613700000004", count=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/messaging/sentmessage/",
            {"action": "sync_messages_now", "_selected_action": [chosen.pk]},
            follow=True,
        )
    assert "Delivery sync started for 1 message(s) of 1 account(s)" in response.content.decode()
    run = SyncRun.objects.get()
    assert (run.scope, run.trigger, run.items_updated) == ({"messages": [chosen.pk]}, "admin", 1)
    other.refresh_from_db()
    assert other.delivery_status == "pending"


def test_sync_now_for_selected_templates_applies_the_providers_review(
    inline_jobs, admin_client, simulator, simulated_account, django_capture_on_commit_callbacks
):
    from apps.sms_templates.models import TemplateStatus
    from tests.factories import make_template

    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    simulator.add_template(Provider.ALIYUN, code="SMS_470000010", status="rejected", reason="Missing company name.")
    template = make_template(account, provider_template_code="SMS_470000010", status=TemplateStatus.PROVIDER_REVIEW)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/sms_templates/smstemplate/",
            {"action": "sync_templates_now", "_selected_action": [template.pk]},
            follow=True,
        )
    assert "Review status sync started for 1 template(s)" in response.content.decode()
    template.refresh_from_db()
    assert (template.status, template.provider_reason) == (TemplateStatus.REJECTED, "Missing company name.")
    assert SyncRun.objects.get().scope == {"templates": [template.pk]}
