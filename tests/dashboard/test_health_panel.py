"""The health panel as an operator reads it: what is pending per account and since when, what
dead workers hold, each breaker's state and why, each figure linking to the rows it counts, and
plain words when jobs run inline or Redis does not answer. The headline figures also show above
the admin index and the provider accounts list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rq.cron import CronScheduler

from apps.dashboard import health, ops_alerts
from apps.messaging.models import Conversion, ConversionStatus, SentMessage
from apps.providers import breaker as breakers
from apps.providers.models import Provider
from tests.conftest import PASSWORD
from tests.factories import make_account
from tests.queue_fixtures import closed_port, redis_down  # noqa: F401

pytestmark = pytest.mark.django_db

PANEL = "dashboard:health"


@pytest.fixture(autouse=True)
def fresh_breakers(settings):
    """Jobs inline unless a test says otherwise: breakers in this process, cleared around each test."""
    settings.REDIS_URL = ""
    settings.JOBS_INLINE = True
    breakers._LocalStore.states.clear()
    breakers._LocalStore.transitions.clear()
    yield
    breakers._LocalStore.states.clear()
    breakers._LocalStore.transitions.clear()


def pending_backlog(account, count: int, *, age: timedelta = timedelta(minutes=1)) -> list[int]:
    """count pending conversions of the account, created `age` ago (bulk: thousands in a blink)."""
    now = timezone.now()
    prefix = f"a{account.pk}-"
    SentMessage.objects.bulk_create(
        SentMessage(account=account, provider_message_id=f"{prefix}{n}", phone=f"+86138{n:08d}", sent_at=now - age)
        for n in range(count)
    )
    messages = SentMessage.objects.filter(provider_message_id__startswith=prefix)
    Conversion.objects.bulk_create(
        Conversion(message=m, status=ConversionStatus.CONVERTED, converted_at=now - age + timedelta(seconds=5))
        for m in messages
    )
    rows = Conversion.objects.filter(message__account=account)
    rows.update(created_at=now - age)
    return list(rows.values_list("pk", flat=True))


def panel(client) -> str:
    client.login(username="root", password=PASSWORD)
    response = client.get(reverse(PANEL))
    assert response.status_code == 200
    return response.content.decode()


def account_row(page: str, account) -> str:
    match = re.search(rf'<tr id="account-{account.pk}">(.*?)</tr>', page, re.S)
    assert match, f"no row for account {account.pk}"
    return match.group(1)


def link_of(row: str, css_class: str) -> tuple[str, str]:
    match = re.search(rf'<a class="{css_class}" href="([^"]+)">([^<]+)</a>', row)
    assert match, f"no {css_class} link in {row}"
    return match.group(1).replace("&amp;", "&"), match.group(2)


def listed_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    return response.context["cl"].result_count


def test_the_panel_counts_each_accounts_pending_reports_with_separators_and_links_to_them(client, root):
    busy, quiet = make_account(Provider.TENCENT, name="Tencent prod"), make_account(Provider.PLIVO, name="Plivo US")
    pending_backlog(busy, 1234)
    pending_backlog(quiet, 2)
    page = panel(client)
    url, shown = link_of(account_row(page, busy), "pending")
    assert shown == "1,234"
    assert listed_count(client, url) == 1234
    url, shown = link_of(account_row(page, quiet), "pending")
    assert (shown, listed_count(client, url)) == ("2", 2)
    assert '<a href="/admin/messaging/conversion/?report_state__exact=pending" id="pending-total">1,236</a>' in page


def test_the_oldest_pending_report_reads_as_an_age_with_the_exact_time_on_hover(client, root, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    account = make_account(name="Alibaba CN")
    ids = pending_backlog(account, 3)
    three_hours_ago = timezone.now() - timedelta(hours=3, seconds=30)
    Conversion.objects.filter(pk=ids[0]).update(created_at=three_hours_ago)
    row = account_row(panel(client), account)
    oldest = re.search(r'<td class="oldest" data-label="Oldest pending">(.*?)</td>', row).group(1)
    local = timezone.localtime(three_hours_ago, timezone=timezone.get_fixed_timezone(8 * 60))
    assert f'title="{local:%Y-%m-%d %H:%M:%S} CST"' in oldest
    assert ">3\xa0hours ago</time>" in oldest


def test_rows_held_by_dead_workers_are_counted_and_linked_apart_from_a_live_workers(client, root, settings):
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "CLAIM_TIMEOUT_SECONDS": 30}
    account = make_account(name="Plivo EU")
    ids = pending_backlog(account, 5)
    now = timezone.now()
    Conversion.objects.filter(pk__in=ids[:3]).update(claim_token="d" * 32, claimed_at=now - timedelta(seconds=45))
    Conversion.objects.filter(pk__in=ids[3:4]).update(claim_token="l" * 32, claimed_at=now - timedelta(seconds=2))
    page = panel(client)
    url, shown = link_of(account_row(page, account), "held")
    assert shown == "3"
    assert listed_count(client, url) == 3
    assert 'id="held-total">3</a>' in page


def test_an_open_breaker_shows_its_state_since_when_and_why(client, root):
    account = make_account(Provider.TENCENT, name="Tencent prod")
    breaker = breakers.breaker_for(account)
    for _ in range(5):
        breaker.record_failure("transient: HTTP 503")
    row = account_row(panel(client), account)
    assert "<strong>open</strong>" in row
    assert "closed → open" in row
    assert "5 consecutive failures, the last: transient: HTTP 503" in row
    assert re.search(r"<td data-label=\"Not closed since\"><time [^>]+>\d+\xa0seconds? ago</time></td>", row)
    assert re.search(r"next probe <time [^>]+>in (29|30)\xa0seconds</time>", row)


def test_a_closed_breaker_keeps_its_last_transitions_in_view(client, root, settings):
    settings.CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 1, "COOL_DOWN_SECONDS": 0}
    account = make_account(Provider.PLIVO, name="Plivo US")
    breaker = breakers.breaker_for(account)
    breaker.record_failure("transient: timed out")
    assert breaker.allow()  # the cool-down is over: this call is the probe
    breaker.record_success()
    row = account_row(panel(client), account)
    assert "<strong>closed</strong>" in row
    assert "half_open → closed" in row and "the probe succeeded" in row
    assert "3 last transitions" in row


def test_with_no_redis_the_panel_says_jobs_run_inline(client, root, settings):
    settings.JOBS_INLINE = True
    page = panel(client)
    assert "Jobs run inline: REDIS_URL is not set" in page
    assert 'id="workers-alive">—</strong>' in page


@pytest.mark.usefixtures("redis_down")
def test_with_redis_away_the_panel_says_so_and_still_shows_the_backlog(client, root):
    account = make_account(name="Alibaba CN")
    pending_backlog(account, 4)
    page = panel(client)
    assert "Redis does not answer" in page
    assert link_of(account_row(page, account), "pending")[1] == "4"
    assert "Breaker state unreadable while Redis is away." in page


@pytest.mark.parametrize("page_name", ["admin:index", "admin:providers_provideraccount_changelist"])
def test_the_admin_index_and_accounts_list_show_the_headline_figures(client, root, settings, page_name):
    settings.JOBS_INLINE = True
    account = make_account(Provider.TENCENT, name="Tencent prod")
    pending_backlog(account, 1500, age=timedelta(minutes=20))
    for _ in range(5):
        breakers.breaker_for(account).record_failure("transient: HTTP 503")
    client.login(username="root", password=PASSWORD)
    page = client.get(reverse(page_name)).content.decode()
    summary = re.search(r'<div class="module" id="health-summary">(.*?)</div>', page, re.S).group(1)
    assert "1,500 reports pending</a>, oldest <time" in summary
    assert "20\xa0minutes ago</time>" in summary
    assert "breaker not closed: Tencent prod (open)" in summary
    assert f'href="{reverse(PANEL)}"' in summary


def test_a_failing_summary_leaves_the_admin_index_working_and_says_so(client, root, monkeypatch):
    def broken():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(health, "summary", broken)
    client.login(username="root", password=PASSWORD)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "The health figures could not be read (the error is in the log)." in response.content.decode()


def test_a_malformed_queue_url_is_said_on_the_panel_instead_of_failing_it(client, root, settings):
    settings.JOBS_INLINE = False
    settings.RQ_QUEUES = {name: {"URL": "127.0.0.1:6379"} for name in ("default", "reports", "sync")}
    assert "Redis does not answer (Redis URL must specify one of the following schemes" in panel(client)


def test_a_running_cron_process_is_listed_alive_and_the_ops_check_reads_it(client, root, jobs_on_redis):
    cron = CronScheduler(connection=jobs_on_redis, name="cron-on-this-host")
    cron.register_birth()
    cron.heartbeat()
    [row] = health.queue_health().crons
    assert (row.name, row.alive) == ("cron-on-this-host", True)
    assert "No cron process" not in panel(client)
    ops_alerts.ops_check()  # what `manage.py ops_watch` and the cron job run every minute
