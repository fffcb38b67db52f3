"""The admin, as a person uses it, in headless Chromium."""

import pytest
from django.conf import settings

from apps.dashboard.demo import load_demo
from tests.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_an_operator_logs_in_and_browses_messages_conversions_and_accounts(page, root, artifacts):
    load_demo(messages_scale=0.01)
    login(page, "root")
    assert ("Background jobs run inline" in page.inner_text("body")) == settings.JOBS_INLINE
    page.click("text=Sent messages")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 50
    page.fill("#searchbar", page.locator("#result_list tbody tr td.field-phone_shown").first.inner_text())
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() >= 1
    page.goto("/admin/providers/provideraccount/")
    body = page.inner_text("#result_list")
    assert "Alibaba demo" in body and "•••••••• (set)" in body
    assert "smsdash-demo-aliyun-secret" not in page.content()
    page.screenshot(path=str(artifacts / "admin-accounts.png"), full_page=True)
    assert page.console_errors == []
