"""The operator's pages of issue 4 in headless Chromium: API tokens shown once, re-send, circuit state."""

from __future__ import annotations

import pytest
import requests

from apps.messaging.models import ApiToken, Conversion, ReportState
from apps.providers.models import Provider
from tests.conftest import login
from tests.messaging.reporting_helpers import convert, sent_messages

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

MESSAGE = {"message_id": "uuid-1", "phone": "+14155550001", "sent_at": "2026-11-23T08:00:00Z"}


def test_an_operator_creates_a_token_sees_it_once_and_revokes_it(page, root, simulated_account, live_server, artifacts):
    account = simulated_account(Provider.PLIVO, name="Plivo production")
    login(page, "root")
    page.goto("/admin/messaging/apitoken/add/")
    page.select_option("#id_account", str(account.pk))
    page.fill("#id_name", "login service")
    with page.expect_navigation():
        page.click("input[name=_save]")
    raw = page.inner_text("#api-token").strip()
    assert raw.startswith("smsd_") and "shown only this once" in page.inner_text("#content")
    page.screenshot(path=str(artifacts / "api-token-created.png"), full_page=True)

    api = f"{live_server.url}/api/v1/messages"
    assert requests.post(api, json=MESSAGE, headers={"Authorization": f"Bearer {raw}"}, timeout=10).status_code == 201

    page.click("text=Done")
    page.wait_for_selector("#result_list")
    assert "login service" in page.inner_text("#result_list") and raw not in page.content()
    page.goto("/admin/messaging/apitoken/")
    page.check("#result_list tbody input.action-select")
    page.select_option("select[name=action]", "revoke_tokens")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert "1 token(s) revoked" in page.inner_text("body")
    assert ApiToken.objects.get().revoked_at is not None
    again = requests.post(api, json=MESSAGE, headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    assert again.status_code == 401
    assert page.console_errors == []


def test_an_operator_sees_why_a_report_failed_and_resends_it_after_fixing_the_account(
    page, root, simulator, simulated_account, settings, artifacts
):
    settings.JOBS_INLINE = True
    account = simulated_account(Provider.PLIVO, key_secret="revoked-token")
    conversions = convert(sent_messages(simulator, account, 1))
    from apps.messaging import jobs

    jobs.report_conversions(account.pk, [conversions[0].pk])
    login(page, "root")
    page.goto("/admin/messaging/conversion/?report_state__exact=failed")
    row = page.inner_text("#result_list tbody tr")
    assert "Failed" in row and "auth:" in row and "closed" in row  # the provider answered: circuit closed
    page.screenshot(path=str(artifacts / "conversion-failed.png"), full_page=True)

    account.key_secret = "smsdash-demo-plivo-token"
    account.save()
    page.check("#result_list tbody input.action-select")
    page.select_option("select[name=action]", "resend_conversions")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert "1 conversion(s) queued for reporting again." in page.inner_text("body")
    assert Conversion.objects.get().report_state == ReportState.REPORTED
    assert simulator.conversions(conversions[0].message.provider_message_id) == 1
    assert page.console_errors == []
