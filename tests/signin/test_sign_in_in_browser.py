"""Two-factor enrolment and sign-in, and the lockout page, as a person sees them in headless Chromium."""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import totp

from smsdash.signin import lockout, views
from tests.conftest import PASSWORD, login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_staff_user_enrols_an_authenticator_app_then_signs_in_with_its_code(page, alice, artifacts):
    login(page, "alice")
    page.click("#nav-two-factor")
    assert page.locator("#two-factor-qr svg").is_visible()
    secret = page.inner_text("#two-factor-secret")
    page.screenshot(path=str(artifacts / "signin-two-factor-enrol.png"), full_page=True)

    page.fill("#id_code", f"{totp(b32decode(secret)):06d}")
    page.click("#two-factor-form input[type=submit]")
    page.wait_for_selector("#user-tools")
    assert views.ENROLLED in page.inner_text("body")
    page.click("#logout-form button[type=submit]")

    page.goto("/admin/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    assert "Enter the 6-digit code" in page.inner_text(".errornote")
    page.fill("#id_password", PASSWORD)
    # The next step's code: the one used to enrol cannot be used twice.
    page.fill("#id_otp_token", f"{totp(b32decode(secret), drift=1):06d}")
    page.screenshot(path=str(artifacts / "signin-login-with-code.png"), full_page=True)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
    assert page.console_errors == []


def test_a_person_locked_out_sees_why_and_when_to_retry(page, alice, settings, artifacts):
    settings.AXES_FAILURE_LIMIT = 3
    page.goto("/admin/login/")
    for n in range(3):
        page.fill("#id_username", "alice")
        page.fill("#id_password", f"wrong-{n}")
        page.click("input[type=submit]")
        page.wait_for_load_state()

    assert page.inner_text("#lockout-message") == lockout.LOCKED_OUT
    assert "Try again after" in page.inner_text("#lockout-retry")
    page.screenshot(path=str(artifacts / "signin-locked-out.png"), full_page=True)
    # The page answers 429 Too Many Requests (Chromium reports that status twice); nothing else failed.
    assert page.console_errors and all("429" in error for error in page.console_errors)
