"""Guessing an admin password: locked out after AXES_FAILURE_LIMIT failures per user and address,
the right password refused while locked, an administrator unlocks."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client

from smsdash.signin import lockout
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"


def sign_in(client: Client, username: str, password: str, address: str = ATTACKER):
    return client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


def test_forty_wrong_passwords_lock_the_user_at_that_address_and_the_right_one_is_refused(client, root, settings):
    statuses = [sign_in(client, "root", f"guess-{n}").status_code for n in range(40)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses == [200] * (limit - 1) + [429] * (40 - limit + 1)

    right = sign_in(client, "root", PASSWORD)

    assert right.status_code == 429
    assert lockout.LOCKED_OUT in right.content.decode()
    assert int(right["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "_auth_user_id" not in client.session


def test_the_lockout_page_says_what_happened_and_when_to_retry(client, root, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        response = sign_in(client, "root", f"guess-{n}")
    page = response.content.decode()
    assert "had 3 failed sign-ins in a row from your address" in page
    assert "Try again after" in page and "in 30 minutes" in page
    assert "Ask an administrator" in page


def test_an_administrator_unlocks_a_locked_out_user(client, root, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        sign_in(client, "alice", f"guess-{n}")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    admin = Client()
    admin.force_login(root)
    attempt = AccessAttempt.objects.get(username="alice")
    listing = admin.get("/admin/axes/accessattempt/")
    assert "alice" in listing.content.decode()

    unlock = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )

    assert unlock.status_code == 302
    signed_in = sign_in(client, "alice", PASSWORD)
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/admin/")


def test_the_same_user_from_another_address_is_not_locked_out(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        sign_in(client, "alice", f"guess-{n}")

    from_her_desk = sign_in(Client(), "alice", PASSWORD, address="198.51.100.20")

    assert from_her_desk.status_code == 302


def test_a_successful_sign_in_starts_the_count_again(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(2):
        sign_in(client, "alice", f"typo-{n}")
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    statuses = [sign_in(client, "alice", f"typo-again-{n}").status_code for n in range(2)]

    assert statuses == [200, 200]
