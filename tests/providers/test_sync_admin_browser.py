"""The Sync runs page in headless Chromium: a running run's bar moves without a reload, a failed
run says why, and the receipt counts are there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.messaging.models import DeliveryReceipt
from apps.providers.models import SyncKind, SyncRun, SyncStatus
from tests.conftest import login
from tests.factories import make_account, make_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

REASON = "Alibaba Cloud refused the credentials of Shop: InvalidAccessKeyId.NotFound. Check the key ID and secret."


def test_an_operator_watches_a_sync_run_progress_live(page, root, artifacts):
    account = make_account(name="Shop")
    running = SyncRun.objects.create(account=account, kind=SyncKind.DELIVERY, progress_done=3, progress_total=10)
    SyncRun.objects.create(account=account, kind=SyncKind.TEMPLATES, status=SyncStatus.FAILED, failure_reason=REASON)
    make_message(account, sent_at=timezone.now() - timedelta(hours=7))
    DeliveryReceipt.objects.create(
        account=account, provider_message_id="early", fingerprint="id:early", state="delivered", source="webhook"
    )
    login(page, "root")
    page.goto("/admin/providers/syncrun/")
    bar = page.locator(f'.sync-progress[data-run="{running.pk}"]')
    assert bar.inner_text().strip() == "30% (3/10)"
    assert REASON in page.inner_text("#result_list")
    summary = page.inner_text("#sync-summary")
    assert "1 unmatched receipt" in summary and "1 message with no receipt after 6 hours" in summary

    SyncRun.objects.filter(pk=running.pk).update(progress_done=7, pages_fetched=7, items_updated=40)
    # Playwright's locator assertions poll without eval, which the Content-Security-Policy forbids.
    expect(bar).to_contain_text("70%")
    row = bar.locator("xpath=ancestor::tr")
    assert row.locator(".field-items_updated").inner_text() == "40"
    page.screenshot(path=str(artifacts / "sync-runs-progress.png"), full_page=True)

    SyncRun.objects.filter(pk=running.pk).update(
        progress_done=10, status=SyncStatus.SUCCEEDED, finished_at=timezone.now()
    )
    expect(bar).to_have_attribute("data-status", "succeeded")
    assert bar.inner_text().strip() == "100% (10/10)"
    assert row.locator(".sync-status").inner_text() == "Succeeded"
    page.click("#sync-summary >> text=unmatched receipt")
    page.wait_for_selector("#result_list")
    assert "early" in page.inner_text("#result_list")
    assert page.console_errors == []
