"""Operational alerts through the drop alerts' channels (locmem e-mail, a real local HTTP receiver
for the webhook): when no worker is alive, when an account's oldest pending report is older than
the threshold, when a breaker stays open longer than its threshold; once per incident however
often the check runs, and a recovery note once when it clears."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone
from rq import Worker

from apps.dashboard import ops_alerts
from apps.dashboard.models import OpsIncident
from apps.messaging.models import Conversion, ReportState
from apps.providers import breaker as breakers
from apps.providers.models import Provider
from smsdash.cron import PERIODIC_JOBS
from tests.dashboard.test_health_panel import pending_backlog
from tests.factories import make_account
from tests.queue_fixtures import closed_port, redis_down  # noqa: F401

pytestmark = pytest.mark.django_db

WEBHOOK_TOKEN = "hook-token-8f2c"


class Receiver(BaseHTTPRequestHandler):
    received: list[dict]
    status = 204

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received, server.status = [], 204
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.DASHBOARD_ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hooks/{WEBHOOK_TOKEN}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def channels(settings, webhook, mailoutbox):
    settings.DASHBOARD_ALERT_EMAILS = ["ops@example.com"]
    settings.OPS_ALERT_BACKLOG_MINUTES = 10
    settings.OPS_ALERT_BREAKER_OPEN_MINUTES = 5
    return mailoutbox, webhook.received


@pytest.fixture(autouse=True)
def fresh_breakers():
    breakers._LocalStore.states.clear()
    breakers._LocalStore.transitions.clear()
    yield
    breakers._LocalStore.states.clear()
    breakers._LocalStore.transitions.clear()


@pytest.fixture
def inline(settings):
    settings.REDIS_URL = ""
    settings.JOBS_INLINE = True


def subjects(mail) -> list[str]:
    return [message.subject for message in mail]


@pytest.mark.usefixtures("inline")
def test_a_backlog_older_than_the_threshold_alerts_once_then_notes_the_recovery(channels):
    mail, posted = channels
    account = make_account(Provider.TENCENT, name="Tencent prod")
    ids = pending_backlog(account, 1200, age=timedelta(minutes=9))
    ops_alerts.ops_check()
    assert mail == [] and posted == []  # nine minutes: within the threshold

    Conversion.objects.filter(pk=ids[0]).update(created_at=timezone.now() - timedelta(minutes=11))
    for _ in range(3):
        ops_alerts.ops_check()
    assert subjects(mail) == ["[smsdash] Reports waiting over 10 minutes: Tencent prod (Tencent Cloud)"]
    assert mail[0].to == ["ops@example.com"]
    assert "1200 conversion report(s) pending for Tencent prod (Tencent Cloud); the oldest was accepted 11" in (
        mail[0].body
    )
    assert [(p["state"], p["kind"], p["account"], p["provider"]) for p in posted] == [
        ("firing", "backlog", "Tencent prod", "tencent")
    ]

    Conversion.objects.filter(pk__in=ids).update(report_state=ReportState.REPORTED)
    ops_alerts.ops_check()
    ops_alerts.ops_check()
    assert subjects(mail)[1:] == ["[smsdash] Recovered: Reports waiting over 10 minutes: Tencent prod (Tencent Cloud)"]
    assert [p["state"] for p in posted] == ["firing", "recovered"]
    assert OpsIncident.objects.get().recovery_notified_at is not None


@pytest.mark.usefixtures("inline")
def test_a_breaker_open_longer_than_the_threshold_alerts_once_then_notes_the_recovery(channels, settings):
    mail, posted = channels
    settings.CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 5, "COOL_DOWN_SECONDS": 30}
    account = make_account(Provider.PLIVO, name="Plivo US")
    breaker = breakers.breaker_for(account)
    for _ in range(5):
        breaker.record_failure("transient: HTTP 503")
    ops_alerts.ops_check(now=timezone.now() + timedelta(minutes=4))
    assert mail == []

    for minutes in (6, 7, 8):
        ops_alerts.ops_check(now=timezone.now() + timedelta(minutes=minutes))
    assert subjects(mail) == ["[smsdash] Breaker open over 5 minutes: Plivo US (Plivo)"]
    assert "it is open now. Last transition: 5 consecutive failures, the last: transient: HTTP 503." in mail[0].body
    assert posted[0]["state"] == "firing" and posted[0]["kind"] == "breaker"

    breaker.reset()
    ops_alerts.ops_check(now=timezone.now() + timedelta(minutes=9))
    ops_alerts.ops_check(now=timezone.now() + timedelta(minutes=10))
    assert subjects(mail)[1:] == ["[smsdash] Recovered: Breaker open over 5 minutes: Plivo US (Plivo)"]
    assert [p["state"] for p in posted] == ["firing", "recovered"]


def test_no_worker_alive_alerts_once_then_notes_the_recovery(channels, jobs_on_redis, settings):
    mail, posted = channels
    settings.OPS_WORKER_SILENT_SECONDS = 30
    silent = Worker(["default"], connection=jobs_on_redis, name="killed-one")
    silent.register_birth()
    jobs_on_redis.hset(silent.key, "last_heartbeat", "2020-01-01T00:00:00.000000Z")
    ops_alerts.ops_check()
    ops_alerts.ops_check()
    assert subjects(mail) == ["[smsdash] No rq worker alive"]
    assert mail[0].body.startswith("No worker has sent a heartbeat for 30 s (1 listed, all silent).")
    assert posted[0]["kind"] == "no_worker"

    Worker(["default"], connection=jobs_on_redis, name="fresh-one").register_birth()
    ops_alerts.ops_check()
    ops_alerts.ops_check()
    assert subjects(mail)[1:] == ["[smsdash] Recovered: No rq worker alive"]
    assert [p["state"] for p in posted] == ["firing", "recovered"]


def test_ops_watch_needs_no_worker_to_say_that_none_is_alive(channels, jobs_on_redis):
    mail, _ = channels
    call_command("ops_watch", "--once")
    assert subjects(mail) == ["[smsdash] No rq worker alive"]


@pytest.mark.usefixtures("redis_down")
def test_redis_away_alerts_and_does_not_clear_what_it_cannot_see(channels):
    mail, _ = channels
    OpsIncident.objects.create(key="breaker:1", kind="breaker", summary="Breaker open", opened_at=timezone.now())
    ops_alerts.ops_check()
    ops_alerts.ops_check()
    assert subjects(mail) == ["[smsdash] Redis unreachable"]
    assert OpsIncident.objects.get(key="breaker:1").cleared_at is None  # unknown is not recovered


@pytest.mark.usefixtures("inline")
def test_a_failing_webhook_is_recorded_without_its_url(channels, webhook):
    webhook.status = 500
    pending_backlog(make_account(name="Alibaba CN"), 1, age=timedelta(minutes=30))
    ops_alerts.ops_check()
    incident = OpsIncident.objects.get()
    assert incident.notify_error == "Webhook answered HTTP 500."
    assert WEBHOOK_TOKEN not in incident.notify_error
    assert incident.notified_at is not None


def test_the_check_runs_every_minute_from_the_cron_on_the_queue_workers_take_first():
    assert (ops_alerts.ops_check_job, "default", 60) in PERIODIC_JOBS
