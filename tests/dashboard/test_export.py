"""CSV export from the changelists and the dashboard: content, filters, escaping, streaming, audit."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.http import StreamingHttpResponse
from django.test import override_settings
from django.urls import reverse

from apps.dashboard.export import BOM, cell
from apps.dashboard.models import ExportKind, ExportRecord, ExportState
from apps.messaging.models import DeliveryStatus
from apps.providers.models import Provider
from tests.conftest import PASSWORD
from tests.dashboard.fixture import at, load_fixture
from tests.factories import make_account, make_message, make_template

pytestmark = pytest.mark.django_db
FILENAME = re.compile(r'attachment; filename="smsdash-([a-z-]+?)(-filtered)?-\d{8}-\d{6}-UTC\.csv"')


@pytest.fixture
def root_client(client, root):
    client.login(username="root", password=PASSWORD)
    return client


def download(client, url: str, params: dict | None = None) -> tuple[StreamingHttpResponse, list[list[str]]]:
    response = client.get(url, params or {})
    assert response.status_code == 200, response
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(BOM)
    return response, list(csv.reader(io.StringIO(text[len(BOM) :])))


def test_cells_that_a_spreadsheet_would_run_are_neutralised():
    for dangerous in ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]:
        assert cell(dangerous) == "'" + dangerous
    assert cell("+8613800138000") == "'+8613800138000"
    assert cell("Login code") == "Login code" and cell(42) == 42 and cell(None) == "" and cell(True) == "true"
    assert cell(at(20, 9, 10)) == "2026-11-20 09:10:00"


def test_messages_export_honours_filters_and_search_and_leaves_secrets_out(root_client, root):
    data = load_fixture()
    make_message(
        data["accounts"][Provider.ALIYUN], phone="+8613800000009", out_id="=cmd|' /C calc'!A0", sent_at=at(20, 9)
    )
    url = reverse("admin:messaging_sentmessage_export")
    response, rows = download(
        root_client, url, {"account__provider__exact": "aliyun", "delivery_status__exact": "delivered"}
    )
    assert FILENAME.match(response["Content-Disposition"]).group(1, 2) == ("messages", "-filtered")
    header, body = rows[0], rows[1:]
    assert header[:4] == ["provider_message_id", "provider", "account", "phone"]
    assert sorted(r[0] for r in body) == ["m1", "m2", "m4"]
    assert {r[header.index("phone")] for r in body} == {"'+8613800000001", "'+8613800000002", "'+8613800000004"}
    m1 = next(r for r in body if r[0] == "m1")
    assert (
        m1[header.index("sent_at_utc")] == "2026-11-20 09:10:00"
        and m1[header.index("conversion_status")] == "converted"
    )
    _, rows = download(root_client, url, {"q": "+8613800000009"})
    assert [r[0] for r in rows[1:]] == [rows[1][0]] and rows[1][header.index("out_id")] == "'=cmd|' /C calc'!A0"
    _, everything = download(root_client, url)
    text = repr(everything)
    for account in data["accounts"].values():
        assert account.key_secret not in text
    assert "content" not in everything[0]
    record = ExportRecord.objects.filter(kind=ExportKind.MESSAGES).order_by("pk").first()
    assert (record.user, record.rows, record.state) == (root, 3, ExportState.STREAMED)
    assert record.filters == {"account__provider__exact": ["aliyun"], "delivery_status__exact": ["delivered"]}
    assert record.finished_at is not None


def test_the_changelist_has_an_export_button_carrying_its_filters(root_client):
    load_fixture()
    html = root_client.get(reverse("admin:messaging_sentmessage_changelist"), {"delivery_status__exact": "failed"})
    assert 'href="/admin/messaging/sentmessage/export.csv?delivery_status__exact=failed"' in html.content.decode()


def test_conversions_export_with_a_filter(root_client):
    load_fixture()
    _, rows = download(root_client, reverse("admin:messaging_conversion_export"), {"status__exact": "converted"})
    header = rows[0]
    assert sorted(r[0] for r in rows[1:]) == ["m1", "m4", "m5", "m6"]
    assert {r[header.index("status")] for r in rows[1:]} == {"converted"}


def test_templates_export_keeps_chinese_content_readable(root_client):
    account = make_account(Provider.ALIYUN)
    make_template(account, name="登录验证码", content="您的验证码为${code}，5分钟内有效。")
    make_template(account, name="=1+2", content="Your code is ${code}.")
    response, rows = download(root_client, reverse("admin:sms_templates_smstemplate_export"), {"q": "登录验证码"})
    assert FILENAME.match(response["Content-Disposition"]).group(1) == "templates"
    header = rows[0]
    assert [r[header.index("content")] for r in rows[1:]] == ["您的验证码为${code}，5分钟内有效。"]
    _, rows = download(root_client, reverse("admin:sms_templates_smstemplate_export"))
    assert "'=1+2" in [r[header.index("name")] for r in rows[1:]]
    assert account.key_secret not in repr(rows)


def test_a_large_export_is_streamed_in_chunks(root_client, monkeypatch):
    from apps.dashboard import export

    account = make_account(Provider.PLIVO)
    from apps.messaging.models import SentMessage

    SentMessage.objects.bulk_create(
        SentMessage(
            account=account, provider_message_id=f"p{i}", phone=f"+1212555{i:04d}", country="US", sent_at=at(20, 9)
        )
        for i in range(250)
    )
    monkeypatch.setattr(export, "CHUNK_ROWS", 100)
    response = root_client.get(reverse("admin:messaging_sentmessage_export"))
    chunks = list(response.streaming_content)
    assert len(chunks) >= 4  # header, then one chunk per 100 rows
    assert b"".join(chunks).decode().count("\n") == 251


@override_settings(DASHBOARD_EXPORT_STREAM_LIMIT=3, JOBS_INLINE=True)
def test_an_export_over_the_limit_runs_as_a_job_with_progress_and_a_download(
    root_client, root, tmp_path, django_capture_on_commit_callbacks
):
    load_fixture()
    with override_settings(DASHBOARD_EXPORT_DIR=tmp_path):
        with django_capture_on_commit_callbacks(execute=True):
            response = root_client.get(reverse("admin:messaging_sentmessage_export"), {"country__exact": "CN", "q": ""})
        assert response.status_code == 302
        record = ExportRecord.objects.get()
        assert response["Location"] == reverse("dashboard:export-status", args=[record.pk])
        assert record.state == ExportState.DONE and (record.rows, record.total) == (4, 4)
        assert record.filters == {"country__exact": ["CN"], "q": [""]}  # the filters, never a list of ids
        page = root_client.get(response["Location"]).content.decode()
        assert 'id="export-download"' in page and "100%" in page
        download_response = root_client.get(reverse("dashboard:export-download", args=[record.pk]))
        text = b"".join(download_response.streaming_content).decode("utf-8")
    assert text.startswith(BOM) and text.count("'+86") == 4


def test_someone_elses_export_is_not_downloadable(client, root, alice, tmp_path):
    record = ExportRecord.objects.create(user=root, kind=ExportKind.MESSAGES, filename="x.csv", state=ExportState.DONE)
    client.login(username="alice", password=PASSWORD)
    assert client.get(reverse("dashboard:export-status", args=[record.pk])).status_code == 404
    assert client.get(reverse("dashboard:export-download", args=[record.pk])).status_code == 404


def test_the_dashboard_breakdown_exports_what_the_table_shows(root_client, root):
    load_fixture()
    params = {"range": "custom", "start": "2026-11-20", "end": "2026-11-21", "tz": "UTC", "by": "country"}
    response, rows = download(root_client, reverse("dashboard:export-breakdown"), params)
    assert FILENAME.match(response["Content-Disposition"]).group(1) == "breakdown-by-country"
    assert rows == [
        ["country", "requested", "accepted", "delivered", "verified", "conversion_rate", "delivery_rate"],
        ["CN", "4", "4", "3", "2", "0.5000", "0.7500"],
        ["US", "3", "2", "2", "2", "0.6667", "0.6667"],
    ]
    record = ExportRecord.objects.get(kind=ExportKind.BREAKDOWN)
    assert record.rows == 2 and record.filters["by"] == ["country"] and record.user == root


def test_a_background_export_runs_on_a_real_redis_worker(redis_connection, root, tmp_path):
    from rq import Queue, SimpleWorker

    from apps.dashboard.jobs import export_run_job

    load_fixture()
    record = ExportRecord.objects.create(
        user=root,
        kind=ExportKind.MESSAGES,
        filters={"delivery_status__exact": [DeliveryStatus.DELIVERED]},
        filename="smsdash-messages.csv",
        state=ExportState.QUEUED,
    )
    queue = Queue("default", connection=redis_connection)
    queue.enqueue(export_run_job, record.pk)
    with override_settings(DASHBOARD_EXPORT_DIR=tmp_path):
        SimpleWorker([queue], connection=redis_connection).work(burst=True)
    record.refresh_from_db()
    assert (record.state, record.rows, record.total) == (ExportState.DONE, 5, 5)
    assert (tmp_path / f"export-{record.pk}.csv").read_text(encoding="utf-8").count("delivered") == 5


def test_the_database_side_formatting_neutralises_every_dangerous_start(root_client):
    account = make_account(Provider.PLIVO)
    starts = ["=1+1", "+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1", "safe", "", "'quoted"]
    for i, out_id in enumerate(starts):
        make_message(
            account, phone=f"+1212555{i:04d}", out_id=out_id, provider_message_id=f"d{i}", sent_at=at(20, 9, i)
        )
    _, rows = download(root_client, reverse("admin:messaging_sentmessage_export"), {"o": "7"})  # by sent_at
    header = rows[0]
    written = {r[0]: r[header.index("out_id")] for r in rows[1:]}
    assert [written[f"d{i}"] for i in range(len(starts))] == [
        "'=1+1",
        "'+1+1",
        "'-1+1",
        "'@SUM(1)",
        "'\t=1",
        "'\r=1",
        "safe",
        "",
        "'quoted",
    ]
    assert {r[header.index("trackable")] for r in rows[1:]} == {"true"}
    assert {r[header.index("received_at_utc")] for r in rows[1:]} == {""}


def test_an_export_with_filters_the_list_does_not_know_is_refused(root_client):
    from apps.dashboard.export_jobs import BAD_FILTERS

    response = root_client.get(reverse("admin:messaging_sentmessage_export"), {"no_such_field__exact": "1"})
    assert response.status_code == 400 and response.content.decode() == BAD_FILTERS
    assert not ExportRecord.objects.exists()
