"""Retention: rows older than their account's retention_days are deleted in bounded batches by a
periodic job, while the dashboard's figures for those days stay what they were."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.dashboard.export import BOM
from apps.dashboard.retention import retention_run, retention_run_job
from apps.messaging.models import Conversion, DeliveryReceipt, DeliveryStatus, SentMessage
from smsdash.cron import PERIODIC_JOBS
from tests.conftest import PASSWORD
from tests.factories import make_account, make_conversion, make_message

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
OLD_DAY = NOW - timedelta(days=200)  # past the default 180 days
RECENT = NOW - timedelta(days=10)


def _message(account, sent_at, delivered=True, converted=True):
    status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.PENDING
    message = make_message(account, sent_at=sent_at, delivery_status=status)
    if converted:
        make_conversion(message, converted_at=sent_at + timedelta(seconds=40))
    DeliveryReceipt.objects.create(
        account=account,
        provider_message_id=message.provider_message_id,
        fingerprint=f"id:{message.pk}",
        phone=message.phone,
        state="delivered",
        source="webhook",
        message=message,
    )
    return message


def _old_day_figures(client) -> list[list[str]]:
    """The dashboard's breakdown of the old day by country, as its CSV export gives it."""
    day = OLD_DAY.date().isoformat()
    params = {"range": "custom", "start": day, "end": day, "tz": "UTC", "by": "country"}
    response = client.get(reverse("dashboard:export-breakdown"), params)
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


@pytest.fixture
def root_client(client, root):
    client.login(username="root", password=PASSWORD)
    return client


def test_rows_older_than_the_accounts_retention_are_deleted_and_newer_ones_kept():
    account = make_account()
    old = [_message(account, OLD_DAY + timedelta(minutes=i)) for i in range(3)]
    recent = _message(account, RECENT)
    orphan = DeliveryReceipt.objects.create(
        account=account, fingerprint="phone:old", phone="+8613800138000", state="failed", source="pull"
    )
    DeliveryReceipt.objects.filter(pk=orphan.pk).update(created_at=OLD_DAY)

    counts = retention_run(now=NOW)

    assert counts == {"messages": 3, "conversions": 3, "receipts": 4}
    assert not SentMessage.objects.filter(pk__in=[m.pk for m in old]).exists()
    assert list(SentMessage.objects.values_list("pk", flat=True)) == [recent.pk]
    assert Conversion.objects.get().message_id == recent.pk
    assert DeliveryReceipt.objects.get().message_id == recent.pk


def test_each_account_keeps_rows_for_its_own_retention_period():
    short, long = make_account(retention_days=30), make_account(retention_days=365)
    _message(short, OLD_DAY)
    kept = _message(long, OLD_DAY)
    retention_run(now=NOW)
    assert list(SentMessage.objects.values_list("pk", flat=True)) == [kept.pk]


def test_it_deletes_in_bounded_batches():
    account = make_account()
    for i in range(5):
        _message(account, OLD_DAY + timedelta(minutes=i), converted=False)
    with CaptureQueriesContext(connection) as queries:
        counts = retention_run(now=NOW, batch=2)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "messaging_sentmessage"')]
    assert counts["messages"] == 5 and len(deletes) == 3  # 2 + 2 + 1 rows
    assert not SentMessage.objects.exists()


def test_the_dashboard_figures_of_a_deleted_day_stay_the_same(root_client):
    account = make_account()
    for i in range(4):
        _message(account, OLD_DAY + timedelta(hours=i % 2, minutes=i), converted=i < 3)
    _message(account, OLD_DAY + timedelta(hours=3), delivered=False, converted=False)
    before = _old_day_figures(root_client)
    assert before[1][:5] == ["CN", "5", "4", "4", "3"]

    retention_run(now=NOW, batch=2)

    assert not SentMessage.objects.exists()
    assert _old_day_figures(root_client) == before


def test_a_late_change_to_an_old_hour_is_counted_before_its_rows_go(root_client):
    account = make_account()
    late = _message(account, OLD_DAY, delivered=False, converted=False)
    assert _old_day_figures(root_client)[1][:5] == ["CN", "1", "0", "0", "0"]
    # A receipt arrives for it after the last refresh: its hour is marked dirty, not yet rolled up.
    SentMessage.objects.filter(pk=late.pk).update(delivery_status=DeliveryStatus.DELIVERED)

    retention_run(now=NOW)

    assert _old_day_figures(root_client)[1][:5] == ["CN", "1", "1", "1", "0"]


def test_the_retention_job_is_periodic():
    assert any(func is retention_run_job for func, _queue, _interval in PERIODIC_JOBS)
