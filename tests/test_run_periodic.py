"""Without Redis, `manage.py run_periodic` keeps the periodic jobs of smsdash/cron.py running inline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.messaging.models import Conversion, ReportState, SentMessage
from apps.providers.models import Provider, SyncKind, SyncRun, SyncStatus
from smsdash.cron import PERIODIC_JOBS
from tests.factories import make_conversion
from tests.providers.sync_helpers import fresh_breaker, seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_redis(settings):
    settings.REDIS_URL = ""
    settings.JOBS_INLINE = True


def test_one_pass_syncs_due_accounts_and_reports_conversions_left_pending(
    no_redis, simulator, simulated_account, capsys, django_capture_on_commit_callbacks
):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    first, *_ = seed(simulator, account, phone="+6591230009", count=3)
    conversion = make_conversion(first)
    # A conversion whose job was lost: pending well past the sweep's threshold.
    Conversion.objects.filter(pk=conversion.pk).update(created_at=timezone.now() - timedelta(minutes=30))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_periodic", "--once")

    assert f"Ran {len(PERIODIC_JOBS)} periodic jobs once." in capsys.readouterr().out
    assert set(SyncRun.objects.filter(account=account).values_list("kind", "status")) == {
        (SyncKind.DELIVERY, SyncStatus.SUCCEEDED),
        (SyncKind.TEMPLATES, SyncStatus.SUCCEEDED),
    }
    assert set(SentMessage.objects.values_list("delivery_status", flat=True)) == {"delivered"}
    conversion.refresh_from_db()
    assert conversion.report_state == ReportState.REPORTED
    assert simulator.conversions(first.provider_message_id) == 1


def test_rqcron_and_the_inline_runner_share_one_list():
    from rq import cron

    registered = {(job["func"], job["queue_name"], job["interval"]) for job in cron._job_data_registry}
    assert set(PERIODIC_JOBS) <= registered
