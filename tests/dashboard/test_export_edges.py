"""Exports at their edges: a stream or a job that dies, a queue that is away, a row the file cannot
hold, and the background export through a real rq worker."""

from __future__ import annotations

import csv
import io
import logging

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from django.urls import reverse
from rq import SimpleWorker

from apps.dashboard import export_jobs
from apps.dashboard.export import BOM
from apps.dashboard.export_jobs import QUEUE_UNAVAILABLE, STREAM_FAILED_LINE, UNWRITABLE_LOG
from apps.dashboard.models import ExportRecord, ExportState
from apps.messaging.models import SentMessage
from apps.providers.models import Provider
from smsdash.queue import queue_for
from tests.conftest import PASSWORD, login
from tests.dashboard.fixture import at, load_fixture
from tests.factories import make_account
from tests.queue_fixtures import closed_port, redis_down  # noqa: F401

pytestmark = pytest.mark.django_db
LOST = "server closed the connection unexpectedly"


@pytest.fixture
def root_client(client, root):
    client.login(username="root", password=PASSWORD)
    return client


@pytest.fixture
def many_messages():
    account = make_account(Provider.PLIVO)
    SentMessage.objects.bulk_create(
        SentMessage(account=account, provider_message_id=f"p{i}", phone=f"+1212555{i:04d}", sent_at=at(20, 9))
        for i in range(250)
    )


@pytest.fixture
def connection_lost_after_150_rows(monkeypatch):
    """The export's rows stop with the database error a lost connection gives, after 150 rows."""
    real = export_jobs.queryset_rows

    def rows(queryset, columns):
        for n, row in enumerate(real(queryset, columns)):
            if n == 150:
                raise OperationalError(LOST)
            yield row

    monkeypatch.setattr(export_jobs, "queryset_rows", rows)
    monkeypatch.setattr("apps.dashboard.export.CHUNK_ROWS", 100)


def csv_rows(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


@pytest.mark.usefixtures("many_messages", "connection_lost_after_150_rows")
def test_a_streamed_export_that_dies_midway_says_so_in_its_last_line_and_its_record(root_client):
    response = root_client.get(reverse("admin:messaging_sentmessage_export"))
    rows = csv_rows(b"".join(response.streaming_content).decode("utf-8"))

    assert len(rows) == 1 + 100 + 1  # header, the chunk that went out, the failure line
    assert rows[-1] == [STREAM_FAILED_LINE.format(rows=100, kind="OperationalError")]
    record = ExportRecord.objects.get()
    assert (record.state, record.rows, record.total) == (ExportState.FAILED, 100, 250)
    assert record.error == f"OperationalError: {LOST}"


@pytest.mark.usefixtures("many_messages", "connection_lost_after_150_rows")
def test_the_admin_list_of_exports_shows_a_failed_export_and_why(root_client):
    b"".join(root_client.get(reverse("admin:messaging_sentmessage_export")).streaming_content)

    page = root_client.get(reverse("admin:dashboard_exportrecord_changelist")).content.decode()
    assert '<td class="field-state">Failed</td>' in page
    assert f'<td class="field-reason">OperationalError: {LOST}</td>' in page
    record = ExportRecord.objects.get()
    assert f'href="{reverse("dashboard:export-status", args=[record.pk])}">failed: details</a>' in page


@pytest.mark.usefixtures("many_messages", "connection_lost_after_150_rows")
@override_settings(DASHBOARD_EXPORT_STREAM_LIMIT=10, JOBS_INLINE=True)
def test_a_background_export_that_dies_leaves_no_file_and_its_page_says_why(
    root_client, tmp_path, django_capture_on_commit_callbacks
):
    with override_settings(DASHBOARD_EXPORT_DIR=tmp_path):
        with django_capture_on_commit_callbacks(execute=True):
            response = root_client.get(reverse("admin:messaging_sentmessage_export"))
        record = ExportRecord.objects.get()
        assert (record.state, record.error) == (ExportState.FAILED, f"OperationalError: {LOST}")
        assert list(tmp_path.iterdir()) == []  # nothing that could pass for the export
        page = root_client.get(response["Location"]).content.decode()
        assert f'<p class="errornote" id="export-failed">This export failed: OperationalError: {LOST}</p>' in page
        assert 'id="export-download"' not in page
        assert root_client.get(reverse("dashboard:export-download", args=[record.pk])).status_code == 404


@pytest.mark.usefixtures("many_messages", "redis_down")
@override_settings(DASHBOARD_EXPORT_STREAM_LIMIT=10)
def test_an_export_the_queue_cannot_take_is_failed_and_the_user_lands_on_the_reason(
    root_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = root_client.get(reverse("admin:messaging_sentmessage_export"))

    record = ExportRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:export-status", args=[record.pk])
    assert (record.state, record.error) == (ExportState.FAILED, QUEUE_UNAVAILABLE)
    page = root_client.get(response["Location"]).content.decode()
    assert f"This export failed: {QUEUE_UNAVAILABLE}" in page


def test_a_row_with_a_time_before_year_1_is_exported_with_that_time_empty_and_logged_once(root_client, caplog):
    load_fixture()
    m1 = SentMessage.objects.get(provider_message_id="m1")
    # Stored bypassing validation (as the API once allowed): 1 BC on PostgreSQL, year 0 as SQLite text.
    before_year_1 = "0001-01-01 00:30:00+01" if connection.vendor == "postgresql" else "0000-12-31 23:30:00"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE messaging_sentmessage SET sent_at = %s WHERE id = %s", [before_year_1, m1.pk])

    with caplog.at_level(logging.WARNING, logger="apps.dashboard.export_jobs"):
        response = root_client.get(reverse("admin:messaging_sentmessage_export"))
        rows = csv_rows(b"".join(response.streaming_content).decode("utf-8"))

    header, body = rows[0], {row[0]: row for row in rows[1:]}
    sent_at = header.index("sent_at_utc")
    assert sorted(body) == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]
    assert body["m1"][sent_at] == "" and body["m1"][header.index("converted_at_utc")] == "2026-11-20 09:10:40"
    assert body["m2"][sent_at] == "2026-11-20 09:50:00"
    record = ExportRecord.objects.get()
    assert [r.args for r in caplog.records if r.msg == UNWRITABLE_LOG] == [(record.pk, [m1.pk])]
    assert (record.state, record.rows) == (ExportState.STREAMED, 7)


@pytest.mark.redis
@override_settings(DASHBOARD_EXPORT_STREAM_LIMIT=3)
def test_an_export_over_the_limit_runs_on_a_real_rq_worker_and_is_downloaded(
    root_client, jobs_on_redis, tmp_path, django_capture_on_commit_callbacks
):
    load_fixture()
    with override_settings(DASHBOARD_EXPORT_DIR=tmp_path):
        with django_capture_on_commit_callbacks(execute=True):
            response = root_client.get(reverse("admin:messaging_sentmessage_export"), {"country__exact": "CN"})
        record = ExportRecord.objects.get()
        assert record.state == ExportState.QUEUED and queue_for("default").count == 1

        SimpleWorker([queue_for("default")], connection=jobs_on_redis).work(burst=True)

        page = root_client.get(response["Location"]).content.decode()
        assert 'id="export-download"' in page and "4 of 4 rows (100%)" in page
        download = root_client.get(reverse("dashboard:export-download", args=[record.pk]))
        rows = csv_rows(b"".join(download.streaming_content).decode("utf-8"))
    assert sorted(row[0] for row in rows[1:]) == ["m1", "m2", "m3", "m4"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("many_messages", "redis_down")
def test_in_a_browser_an_export_the_queue_cannot_take_lands_on_its_reason_and_the_list_shows_it(
    page, root, settings, artifacts
):
    settings.DASHBOARD_EXPORT_STREAM_LIMIT = 10
    login(page, "root")
    page.goto("/admin/messaging/sentmessage/")
    page.click("#export-csv")
    assert page.inner_text("#export-failed") == f"This export failed: {QUEUE_UNAVAILABLE}"
    assert page.inner_text("#export-state") == "Failed"
    page.screenshot(path=str(artifacts / "dashboard-export-failed.png"), full_page=True)
    page.goto("/admin/dashboard/exportrecord/")
    assert page.inner_text("#result_list .field-reason") == QUEUE_UNAVAILABLE
    assert page.console_errors == []
