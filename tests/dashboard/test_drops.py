"""Drops against the trailing 14-day baseline: detected, marked on the chart, recorded once, notified."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from apps.dashboard.alerts import alert_notify, detect_drops, drops_record
from apps.dashboard.models import DropAlert
from apps.dashboard.rollups import rollups_refresh
from apps.dashboard.selectors import Filters
from apps.messaging.models import Conversion, ConversionStatus, SentMessage
from apps.providers.models import Provider
from tests.conftest import PASSWORD
from tests.dashboard.fixture import at
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def traffic(account, country_dial: str, when, sent: int, verified: int) -> None:
    messages = SentMessage.objects.bulk_create(
        SentMessage(
            account=account,
            provider_message_id=f"{account.pk}-{when:%m%d%H}-{i}",
            phone=f"{country_dial}1380000{i:04d}",
            country="CN" if country_dial == "+86" else "US",
            sent_at=when + timedelta(minutes=i % 60),
        )
        for i in range(sent)
    )
    Conversion.objects.bulk_create(
        Conversion(message=m, status=ConversionStatus.CONVERTED, converted_at=m.sent_at + timedelta(seconds=30))
        for m in messages[:verified]
    )


@pytest.fixture
def dip():
    """14 days of 50 messages a day at 80%, then 15 Nov 12:00 UTC: Alibaba/CN at 20%, Plivo/US steady."""
    aliyun, plivo = make_account(Provider.ALIYUN), make_account(Provider.PLIVO)
    for day in range(1, 15):
        traffic(aliyun, "+86", at(day, 12), 50, 40)
        traffic(plivo, "+1212", at(day, 12), 50, 40)
    traffic(aliyun, "+86", at(15, 12), 50, 10)
    traffic(plivo, "+1212", at(15, 12), 50, 41)
    rollups_refresh()
    return aliyun


def test_a_day_far_below_its_baseline_is_a_drop_and_steady_segments_are_not(dip):
    [drop] = detect_drops(Filters(start=at(15, 0), end=at(16, 0), granularity="day"))
    assert (drop.provider, drop.country) == ("aliyun", "CN")
    assert (drop.current.requested, drop.current.verified) == (50, 10)
    assert (drop.baseline.requested, drop.baseline.verified) == (700, 560)
    assert drop.drop_percent == pytest.approx(75)


def test_the_hour_of_the_drop_is_found_at_hourly_granularity(dip):
    [drop] = detect_drops(Filters(start=at(15, 0), end=at(16, 0), granularity="hour"))
    assert drop.start == at(15, 12) and drop.end == at(15, 13)


def test_thresholds_are_configurable(dip):
    f = Filters(start=at(15, 0), end=at(16, 0), granularity="day")
    with override_settings(DASHBOARD_DROP_THRESHOLD_PERCENT=80):
        assert detect_drops(f) == []
    with override_settings(DASHBOARD_DROP_MIN_MESSAGES=51):
        assert detect_drops(f) == []
    with override_settings(DASHBOARD_BASELINE_DAYS=3):
        [drop] = detect_drops(f)
        assert drop.baseline.requested == 150


def test_a_bucket_still_collecting_conversions_is_not_judged(dip):
    f = Filters(start=at(15, 0), end=at(16, 0), granularity="hour")
    assert detect_drops(f, now=at(15, 13, 5)) == []
    assert len(detect_drops(f, now=at(15, 13, 20))) == 1


def test_the_drop_is_marked_on_the_chart_and_listed_on_the_page(client, charlie, dip):
    client.login(username="charlie", password=PASSWORD)
    params = {"range": "custom", "start": "2026-11-13", "end": "2026-11-15", "tz": "UTC"}
    data = json.loads(client.get(reverse("dashboard:chart-conversion"), params).content)
    drops = next(d for d in data["datasets"] if d["label"] == "Drop")
    assert drops["data"] == [None, None, 20.0]
    assert "Alibaba Cloud · CN: 20.0% vs 80.0% baseline" in drops["notes"][2]
    html = client.get(reverse("dashboard:index"), params).content.decode()
    assert '<tr class="drop"><td>2026-11-15 00:00</td><td>Alibaba Cloud</td><td>CN</td><td>50</td><td>10</td>' in html


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Receiver.received
    server.shutdown()


def test_each_drop_is_recorded_once_with_its_figures_and_notified(dip, webhook, django_capture_on_commit_callbacks):
    url, received = webhook
    settings = dict(DASHBOARD_ALERT_EMAILS=["oncall@example.com"], DASHBOARD_ALERT_WEBHOOK_URL=url, JOBS_INLINE=True)
    with override_settings(**settings), django_capture_on_commit_callbacks(execute=True):
        [alert] = drops_record(now=at(15, 14))
        assert drops_record(now=at(15, 14, 30)) == []
    assert (alert.provider, alert.country, alert.granularity, alert.window_start) == (
        "aliyun",
        "CN",
        "hour",
        at(15, 12),
    )
    assert (alert.requested, alert.verified, alert.baseline_requested, alert.baseline_verified) == (50, 10, 700, 560)
    assert alert.rate == pytest.approx(0.2) and alert.baseline_rate == pytest.approx(0.8)
    alert.refresh_from_db()
    assert alert.notified_at is not None and alert.notify_error == ""
    [email] = mail.outbox
    assert email.to == ["oncall@example.com"] and "Alibaba Cloud / CN -75%" in email.subject
    assert "20.0% (10 of 50 verified)" in email.body
    assert received[0]["provider"] == "aliyun" and received[0]["drop_percent"] == 75.0
    assert DropAlert.objects.count() == 1


def test_yesterdays_drop_is_recorded_as_a_day_alert(dip):
    alerts = drops_record(now=at(16, 9))
    assert [(a.granularity, a.window_start) for a in alerts] == [("day", at(15, 0))]


def test_a_failing_webhook_is_recorded_on_the_alert(dip):
    [alert] = drops_record(now=at(15, 14))
    with override_settings(DASHBOARD_ALERT_WEBHOOK_URL="http://127.0.0.1:9/nothing-listens-here"):
        alert_notify(alert=alert)
    alert.refresh_from_db()
    assert alert.notify_error == "Webhook failed: ConnectionError."


def test_the_demo_history_holds_its_dip_and_no_false_alarm():
    from django.utils import timezone

    from apps.dashboard.demo import DIP_DAYS_AGO, load_demo

    load_demo(messages_scale=0.1)
    [alert] = DropAlert.objects.all()
    assert (alert.provider, alert.country, alert.granularity) == ("aliyun", "CN", "day")
    assert alert.window_start.date() == (timezone.now() - timedelta(days=DIP_DAYS_AGO)).date()
    assert alert.notified_at is None  # history, not news: nobody is paged for it
