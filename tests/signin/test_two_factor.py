"""TOTP two-factor for staff: the login asks for the code once enrolled, enrolment confirms a code,
ADMIN_2FA_REQUIRED sends an unverified staff session to enrolment."""

from __future__ import annotations

from base64 import b32decode, b32encode

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from smsdash.signin import forms, views
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def code(key: bytes, drift: int = 0) -> str:
    return f"{totp(key, drift=drift):06d}"


def sign_in(client: Client, username: str, otp_token: str = ""):
    data = {"username": username, "password": PASSWORD, "otp_token": otp_token, "next": "/admin/"}
    return client.post("/admin/login/", data)


@pytest.fixture
def enrolled_alice(alice):
    return TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)


def test_without_enrolment_the_password_alone_signs_in(client, alice):
    assert sign_in(client, "alice").status_code == 302


def test_once_enrolled_the_password_alone_is_not_enough(client, enrolled_alice):
    response = sign_in(client, "alice")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [forms.CODE_REQUIRED]
    assert "_auth_user_id" not in client.session


def test_once_enrolled_a_wrong_code_is_refused(client, enrolled_alice):
    wrong = f"{(int(code(enrolled_alice.bin_key)) + 1) % 1000000:06d}"

    response = sign_in(client, "alice", wrong)

    assert response.context["form"].non_field_errors() == [forms.CODE_WRONG]
    assert "_auth_user_id" not in client.session


def test_once_enrolled_the_current_code_signs_in_and_verifies_the_session(client, enrolled_alice):
    response = sign_in(client, "alice", code(enrolled_alice.bin_key))

    assert response.status_code == 302
    assert client.get("/admin/two-factor/").context["enrolled"] is True
    assert "two-factor-on" in client.get("/admin/two-factor/").content.decode()


def test_a_code_cannot_be_used_twice(client, enrolled_alice):
    used = code(enrolled_alice.bin_key)
    sign_in(client, "alice", used)
    client.logout()

    again = sign_in(client, "alice", used)

    assert again.context["form"].non_field_errors() == [forms.CODE_WRONG]


def test_wrong_codes_count_towards_the_lockout(client, enrolled_alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    statuses = [sign_in(client, "alice", "000000").status_code for _ in range(3)]

    assert statuses[-1] == 429


def test_enrolment_shows_the_key_and_confirms_with_a_code(client, alice):
    client.force_login(alice)
    page = client.get("/admin/two-factor/")
    secret = page.context["secret"]
    assert page.context["otpauth_uri"].startswith("otpauth://totp/smsdash%3Aalice?secret=" + secret)
    assert "<svg" in page.content.decode()
    assert client.get("/admin/two-factor/").context["secret"] == secret  # a reload keeps the key

    wrong = client.post("/admin/two-factor/", {"code": "12345"})
    assert wrong.context["form"].errors == {"code": [forms.CODE_FORMAT]}
    done = client.post("/admin/two-factor/", {"code": code(b32decode(secret))}, follow=True)

    assert TOTPDevice.objects.get(user=alice).confirmed is True
    assert views.ENROLLED in [str(m) for m in done.context["messages"]]


def test_when_required_an_unenrolled_staff_user_is_sent_to_enrolment(client, alice, settings):
    settings.ADMIN_2FA_REQUIRED = True
    assert sign_in(client, "alice").status_code == 302

    for path in ("/admin/", "/admin/dashboard/", "/admin/auth/user/"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, "/admin/two-factor/"), path
    assert client.get("/admin/two-factor/").status_code == 200


def test_when_required_an_enrolled_and_verified_user_reaches_the_admin(client, enrolled_alice, settings):
    settings.ADMIN_2FA_REQUIRED = True
    sign_in(client, "alice", code(enrolled_alice.bin_key))

    assert client.get("/admin/").status_code == 200


def test_when_not_required_an_unenrolled_user_reaches_the_admin(client, alice):
    sign_in(client, "alice")

    assert client.get("/admin/").status_code == 200


def test_the_admin_never_shows_an_enrolled_devices_key(client, root, enrolled_alice):
    client.force_login(root)

    page = client.get(f"/admin/otp_totp/totpdevice/{enrolled_alice.pk}/change/").content.decode()

    assert enrolled_alice.key not in page
    assert b32encode(enrolled_alice.bin_key).decode() not in page
