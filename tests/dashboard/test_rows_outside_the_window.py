"""A page never fails because of one row: messages sent (and conversions made) in year 1, 1900 or
9999, stored behind the input boundary's back, are left out of the rollups and logged once with
their ids, while every page and job goes on with the other rows' figures."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DataError
from django.urls import reverse

from apps.dashboard import forms, rollups, sql
from apps.dashboard.alerts import drops_record
from apps.dashboard.models import DirtyHour, HourlyStat
from apps.messaging.models import ConversionStatus, DeliveryStatus, SentMessage
from apps.providers.models import Provider, SyncKind, SyncStatus
from apps.providers.sync.engine import sync_execute
from smsdash.boundary import TOO_EARLY
from tests.conftest import PASSWORD
from tests.dashboard.fixture import at, load_fixture
from tests.dashboard.test_drops import dip  # noqa: F401  (fixture)
from tests.factories import make_conversion, make_message
from tests.messaging.out_of_range import BAD_TIMES, store_converted_at, store_sent_at
from tests.providers import sync_helpers
from tests.providers.sync_helpers import fresh_breaker, seed

pytestmark = pytest.mark.django_db

SHANGHAI_TWO_DAYS = {"range": "custom", "start": "2026-11-20", "end": "2026-11-21", "tz": "Asia/Shanghai"}


def rows_outside_the_window(account, names=tuple(BAD_TIMES), delivery=DeliveryStatus.DELIVERED) -> list[int]:
    """One converted message per bad time, in the account's country; returns their ids."""
    ids = []
    for i, name in enumerate(names):
        phone = "+8613811110000"[: -len(str(i))] + str(i)
        message = make_message(account, phone=phone, delivery_status=delivery, template_code="SMS_1")
        conversion = make_conversion(message, status=ConversionStatus.CONVERTED)
        store_sent_at(message, name)
        store_converted_at(conversion, name)
        ids.append(message.pk)
    return ids


@pytest.fixture
def staff_client(client, charlie):
    client.login(username="charlie", password=PASSWORD)
    return client


@pytest.fixture
def fixture_and_bad_rows():
    """The hand-computed fixture and the bad rows, none rolled up yet: one refresh takes all marks."""
    data = load_fixture()
    data["bad"] = rows_outside_the_window(data["accounts"][Provider.ALIYUN])
    return data


def get_json(client, name: str, **params) -> dict:
    response = client.get(reverse(f"dashboard:chart-{name}"), {**SHANGHAI_TWO_DAYS, **params})
    assert response.status_code == 200
    return json.loads(response.content)


def dataset(data: dict, label: str) -> list:
    return next(d["data"] for d in data["datasets"] if d["label"] == label)


def test_the_dashboard_page_shows_the_other_rows_figures(staff_client, fixture_and_bad_rows):
    response = staff_client.get(reverse("dashboard:index"), {**SHANGHAI_TWO_DAYS, "by": "country"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="kpi-requested">7<' in html and 'id="kpi-verified">4<' in html
    assert "<td>CN</td><td>4</td><td>4</td><td>3</td><td>2</td><td>50.0%</td>" in html


@pytest.mark.parametrize(
    ("chart", "params", "label", "expected"),
    [
        ("conversion", {}, "Requested", [4, 3]),
        ("delivery", {"tz": "UTC"}, "Delivery rate %", [66.67, 100.0]),
        ("comparison", {"tz": "UTC"}, "Alibaba Cloud", [50.0, None]),
        ("funnel", {"tz": "UTC"}, "Alibaba Cloud", [4, 4, 3, 2]),
    ],
)
def test_each_chart_answers_the_other_rows_figures(staff_client, fixture_and_bad_rows, chart, params, label, expected):
    assert dataset(get_json(staff_client, chart, **params), label) == expected


def test_the_breakdown_csv_lists_the_other_rows(staff_client, fixture_and_bad_rows):
    response = staff_client.get(reverse("dashboard:export-breakdown"), {**SHANGHAI_TWO_DAYS, "by": "country"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[:3] for row in rows[1:]] == [["CN", "4", "4"], ["US", "3", "2"]]


def test_the_rollups_command_moves_the_other_rows_and_leaves_out_the_bad_ones(fixture_and_bad_rows):
    out = io.StringIO()
    call_command("dashboard_rollups", stdout=out)
    assert out.getvalue().startswith("Rebuilt 6 hour(s) of rollups")  # the fixture's six hours
    assert sum(HourlyStat.objects.values_list("requested", flat=True)) == 7
    assert DirtyHour.objects.count() == 0  # the year-1 hour's mark is taken, not left to fail the next run


def test_the_rows_left_out_are_logged_once_with_their_ids(staff_client, fixture_and_bad_rows, caplog):
    bad = fixture_and_bad_rows["bad"]
    with caplog.at_level(logging.WARNING, logger="apps.dashboard.rollups"):
        for _ in range(3):
            assert staff_client.get(reverse("dashboard:index"), SHANGHAI_TWO_DAYS).status_code == 200
    [record] = [r for r in caplog.records if r.name == "apps.dashboard.rollups"]
    assert record.getMessage() == rollups.OUTSIDE_WINDOW % (
        3,
        "2000-01-01T00:00:00+00:00",
        "3000-01-01T00:00:00+00:00",
        ", ".join(map(str, sorted(bad))),
    )


def test_a_new_message_is_rolled_up_after_the_bad_rows_marks(fixture_and_bad_rows):
    rollups.rollups_refresh()
    account = fixture_and_bad_rows["accounts"][Provider.ALIYUN]
    rows_outside_the_window(account, names=["year 1 at +01:00"])  # a new mark of a 1 BC hour
    make_message(account, phone="+8613822220000", sent_at=at(25, 8, 15))
    rollups.rollups_refresh()
    assert HourlyStat.objects.get(hour=at(25, 8)).requested == 1
    assert DirtyHour.objects.count() == 0


def test_rebuilding_everything_leaves_out_the_bad_rows(fixture_and_bad_rows):
    assert rollups.rollups_rebuild_all() == int((at(21, 5) - at(20, 9)) / timedelta(hours=1))
    assert sum(HourlyStat.objects.values_list("requested", flat=True)) == 7


def test_a_range_the_database_refuses_is_logged_and_the_others_are_rebuilt(fixture_and_bad_rows, monkeypatch, caplog):
    insert = sql.insert_rollups

    def refuse_one_range(start, end):
        if start == at(20, 16):
            raise DataError("value out of range")
        insert(start, end)

    monkeypatch.setattr(sql, "insert_rollups", refuse_one_range)
    with caplog.at_level(logging.ERROR, logger="apps.dashboard.rollups"):
        assert rollups.rollups_refresh() == 6
    assert HourlyStat.objects.filter(hour=at(20, 16)).count() == 0
    assert sum(HourlyStat.objects.values_list("requested", flat=True)) == 6  # all but m4
    [record] = caplog.records
    assert record.getMessage() == rollups.REBUILD_FAILED % (
        "2026-11-20T16:00:00+00:00",
        "2026-11-20T17:00:00+00:00",
        "value out of range",
    )


def test_drop_alerts_are_recorded_beside_the_bad_rows(dip):  # noqa: F811
    rows_outside_the_window(dip)  # Alibaba / CN, the segment of the drop
    [alert] = drops_record(now=at(15, 14))
    assert (alert.provider, alert.country, alert.window_start) == ("aliyun", "CN", at(15, 12))
    assert (alert.requested, alert.verified, alert.baseline_requested, alert.baseline_verified) == (50, 10, 700, 560)


isolated_redis = sync_helpers.isolated_redis


@pytest.mark.usefixtures("isolated_redis")
def test_sync_now_beside_the_bad_rows_succeeds_and_the_dashboard_counts_what_it_synced(
    simulator, simulated_account, staff_client
):
    account = fresh_breaker(simulated_account(Provider.ALIYUN))
    synced = seed(simulator, account, phone="+8613800000001", count=2)
    # Pending: the sync expires them, and the triggers mark their hours inside the sync's writes. Year
    # 9999 is left to the delivery pull's own guard; these two reach only the expiry and the rollups.
    rows_outside_the_window(account, names=["year 1 at +01:00", "year 1900"], delivery=DeliveryStatus.PENDING)
    run = sync_execute(account=account, kind=SyncKind.DELIVERY, trigger="admin")
    assert run.status == SyncStatus.SUCCEEDED, run.failure_reason
    day = synced[0].sent_at.date().isoformat()
    funnel = get_json(staff_client, "funnel", range="custom", start=day, end=day, tz="UTC")
    assert dataset(funnel, "Alibaba Cloud") == [2, 2, 2, 0]
    assert SentMessage.objects.filter(account=account, delivery_status=DeliveryStatus.EXPIRED).count() == 2


@pytest.mark.parametrize(
    ("start", "end", "tz", "errors"),
    [
        ("0001-01-01", "2026-11-21", "Asia/Shanghai", {"start": [TOO_EARLY.format(earliest="2000-01-01")]}),
        ("2026-11-20", "9999-12-31", "UTC", {"end": [forms.TOO_LATE.format(latest="2999-12-31")]}),
    ],
)
@pytest.mark.parametrize("view", ["chart-conversion", "export-breakdown"])
def test_a_custom_range_beyond_the_window_answers_400_naming_the_field(staff_client, view, start, end, tz, errors):
    params = {"range": "custom", "start": start, "end": end, "tz": tz}
    response = staff_client.get(reverse(f"dashboard:{view}"), params)
    assert response.status_code == 400
    found = json.loads(response.content)["errors"]
    assert {field: [e["message"] for e in found[field]] for field in found} == errors


def test_the_dashboard_page_names_the_date_beyond_the_window(staff_client):
    params = {"range": "custom", "start": "0001-01-01", "end": "0001-01-02", "tz": "Asia/Shanghai"}
    response = staff_client.get(reverse("dashboard:index"), params)
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "start": [TOO_EARLY.format(earliest="2000-01-01")],
        "end": [TOO_EARLY.format(earliest="2000-01-01")],
    }
