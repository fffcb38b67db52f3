"""The health panel in headless Chromium, as an operator reaches it from the admin index: the
figures, the exact time on hover, a figure's link to the rows it counts; screenshots at phone and
desktop widths under test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rq import Worker
from rq.scheduler import RQScheduler

from apps.messaging.models import Conversion
from apps.providers import breaker as breakers
from apps.providers.models import Provider
from tests.conftest import login
from tests.dashboard.test_health_panel import pending_backlog
from tests.factories import make_account

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def background(jobs_on_redis, settings):
    """One worker busy, one killed a while ago (its key not expired yet), the scheduler alive,
    a Tencent backlog with an open breaker, a quiet Plivo account."""
    settings.OPS_WORKER_SILENT_SECONDS = 30
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "CLAIM_TIMEOUT_SECONDS": 30}
    queues = list(settings.RQ_QUEUES)
    alive = Worker(queues, connection=jobs_on_redis, name="web-1.4711")
    alive.register_birth()
    alive.set_state("busy")
    dead = Worker(queues, connection=jobs_on_redis, name="web-2.4802")
    dead.register_birth()
    dead.set_state("busy")
    jobs_on_redis.hset(
        dead.key, "last_heartbeat", (timezone.now() - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    )
    scheduler = RQScheduler(queues, connection=jobs_on_redis, name="web-1.4711")
    scheduler.acquire_locks()
    scheduler.register_birth()
    scheduler.heartbeat()

    tencent = make_account(Provider.TENCENT, name="Tencent prod")
    ids = pending_backlog(tencent, 12345, age=timedelta(minutes=2))
    Conversion.objects.filter(pk=ids[0]).update(created_at=timezone.now() - timedelta(minutes=42))
    Conversion.objects.filter(pk__in=ids[1:21]).update(
        claim_token="d" * 32, claimed_at=timezone.now() - timedelta(minutes=1)
    )
    for _ in range(5):
        breakers.breaker_for(tencent).record_failure("transient: HTTP 503 Service Unavailable")
    plivo = make_account(Provider.PLIVO, name="Plivo US")
    pending_backlog(plivo, 3)
    return tencent, plivo


def test_an_operator_reads_the_health_panel_and_follows_a_figure_to_its_rows(page, root, background, artifacts):
    tencent, _ = background
    login(page, "root")
    assert "1 worker alive" in page.inner_text("#health-summary")
    page.click("#health-link")
    page.wait_for_selector("#health-cards")

    assert page.inner_text("#workers-alive") == "1"
    assert page.inner_text("#pending-total") == "12,348"
    assert page.inner_text("#held-total") == "20"
    assert page.inner_text("#scheduler-state") == "alive"
    dead_row = page.locator("#workers tr.dead")
    assert "web-2.4802" in dead_row.inner_text() and "busy" not in dead_row.inner_text()
    oldest = page.locator(f"#account-{tencent.pk} td.oldest time")
    assert oldest.inner_text() == "42\xa0minutes ago"
    assert oldest.get_attribute("title").endswith(" UTC")
    assert "5 consecutive failures" in page.inner_text(f"#account-{tencent.pk} td.transitions")

    for width, height in ((390, 844), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"health-panel-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"

    page.click(f"#account-{tencent.pk} a.held")
    page.wait_for_selector("#result_list")
    assert "claim=lapsed" in page.url
    assert page.locator("#result_list tbody tr").count() == 20
    assert page.console_errors == []
