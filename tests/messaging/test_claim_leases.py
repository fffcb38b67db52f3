"""Claims as leases (apps/messaging/leases.py): renewed while their process reports, given back
once they lapse, and releasable from the admin at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messaging.api.admin import RELEASED
from apps.messaging.leases import ClaimLeases
from apps.messaging.models import Conversion, ReportState
from apps.messaging.services.reporting import claims_release_expired
from apps.providers.models import Provider
from tests.factories import make_conversion, make_message
from tests.progress import wait_for_progress


@pytest.fixture
def inline_jobs(settings):
    settings.JOBS_INLINE = True


def held_by(token: str, claimed_at, rows) -> None:
    Conversion.objects.filter(pk__in=[r.pk for r in rows]).update(claim_token=token, claimed_at=claimed_at)


def test_report_pending_now_releases_rows_held_by_a_dead_worker_and_reports_them(
    inline_jobs, admin_client, simulator, simulated_account, django_capture_on_commit_callbacks
):
    account = simulated_account(Provider.PLIVO)
    rows = [make_conversion(make_message(account, phone=f"+14155551{n:03d}")) for n in range(3)]
    for row in rows:
        simulator.add_message("plivo", row.message.provider_message_id, row.message.phone, row.message.sent_at)
    held_by("dead", timezone.now() - timedelta(minutes=5), rows[:2])  # its worker stopped renewing
    held_by("alive", timezone.now(), rows[2:])  # a worker reporting it right now
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/messaging/conversion/",
            {"action": "report_pending_now", "_selected_action": [r.pk for r in rows]},
            follow=True,
        )
    page = response.content.decode()
    assert "2 pending conversion(s) queued for reporting." in page
    assert RELEASED.format(count=2) in page
    states = dict(Conversion.objects.values_list("pk", "report_state"))
    assert [states[r.pk] for r in rows] == [ReportState.REPORTED, ReportState.REPORTED, ReportState.PENDING]
    repeats = dict(Conversion.objects.values_list("pk", "repeat_reports"))
    assert [repeats[r.pk] for r in rows] == [1, 0, 0]  # only the dead claim's first row may have gone out


def test_a_held_claim_is_renewed_while_its_process_lives_and_released_once_dropped(
    transactional_db, settings, simulated_account
):
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "CLAIM_TIMEOUT_SECONDS": 0.6}
    account = simulated_account(Provider.PLIVO)
    rows = [make_conversion(make_message(account, phone=f"+14155552{n:03d}")) for n in range(2)]
    start = timezone.now()
    held_by("mine", start, rows)
    leases = ClaimLeases()
    leases.hold("mine")

    def claimed_at():
        return Conversion.objects.get(pk=rows[0].pk).claimed_at

    wait_for_progress(claimed_at, lambda at: at > start + timedelta(seconds=0.6), what="lease renewals")
    assert claims_release_expired() == {}  # renewed: still held
    leases.drop("mine")
    released = []
    wait_for_progress(lambda: released.append(claims_release_expired()) or bool(released[-1]), bool, what="lapse")
    assert released[-1] == {account.pk: [rows[0].pk, rows[1].pk]}
    assert not Conversion.objects.exclude(claim_token="").exists()
