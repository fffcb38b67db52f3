"""Changes to provider accounts, API tokens and users' access are recorded (who, when, which fields)
and listed in the admin, never with a secret's value."""

from __future__ import annotations

import json

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from apps.messaging.models import ApiToken
from apps.providers.audit import SECRET_EMPTY_MASK, SECRET_SET_MASK
from apps.providers.models import Provider, ProviderAccount
from tests.conftest import PASSWORD
from tests.factories import make_account
from tests.providers.test_account_endpoints import form_data

pytestmark = pytest.mark.django_db

OLD_SECRET = "old-plivo-token-0123456789"
NEW_SECRET = "new-plivo-token-9876543210"


def entries_for(obj) -> list[LogEntry]:
    return list(LogEntry.objects.get_for_object(obj).order_by("timestamp", "pk"))


def every_entry_as_text() -> str:
    """All that the audit log stores, every column of every entry."""
    return json.dumps(list(LogEntry.objects.values()), default=str, ensure_ascii=False)


def change_account(client, account: ProviderAccount, **changes):
    client.login(username="root", password=PASSWORD)
    url = reverse("admin:providers_provideraccount_change", args=[account.pk])
    response = client.post(url, form_data(account, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def test_a_secret_change_is_recorded_as_changed_without_the_secret(client, root):
    account = make_account(Provider.PLIVO, key_secret=OLD_SECRET)
    change_account(client, account, key_secret=NEW_SECRET)

    created, changed = entries_for(account)
    assert created.changes_dict["key_secret"] == [SECRET_EMPTY_MASK, SECRET_SET_MASK]
    assert changed.action == LogEntry.Action.UPDATE and changed.actor == root
    assert changed.changes_dict == {"key_secret": [SECRET_SET_MASK, SECRET_SET_MASK]}
    stored = every_entry_as_text()
    assert OLD_SECRET not in stored and NEW_SECRET not in stored
    assert OLD_SECRET[:10] not in stored and NEW_SECRET[-10:] not in stored  # not even half of it


def test_the_admin_audit_pages_never_show_a_secret(client, root):
    account = make_account(Provider.PLIVO, key_secret=OLD_SECRET)
    change_account(client, account, key_secret=NEW_SECRET)
    (_, changed) = entries_for(account)
    listing = client.get(reverse("admin:auditlog_logentry_changelist")).content.decode()
    page = client.get(reverse("admin:auditlog_logentry_change", args=[changed.pk])).content.decode()
    assert account.name in listing and "key secret" in page.lower()
    for html in (listing, page):
        assert OLD_SECRET[-10:] not in html and NEW_SECRET[-10:] not in html


def test_an_endpoint_change_records_who_when_and_which_fields(client, root, settings):
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = False
    account = make_account(Provider.ALIYUN)
    endpoint = "https://dysmsapi.ap-southeast-1.aliyuncs.com"
    change_account(client, account, endpoint=endpoint, key_secret="aliyun-secret-entered-again")

    changed = entries_for(account)[-1]
    assert changed.actor == root and changed.timestamp is not None
    assert changed.changes_dict == {"endpoint": ["", endpoint], "key_secret": [SECRET_SET_MASK, SECRET_SET_MASK]}


def test_an_api_token_created_and_revoked_in_the_admin_is_recorded_without_its_hash(client, root):
    account = make_account(Provider.TENCENT)
    client.login(username="root", password=PASSWORD)
    created = client.post(reverse("admin:messaging_apitoken_add"), {"account": account.pk, "name": "login app"})
    token = ApiToken.objects.get()
    raw = created.context["raw_token"]
    client.post(
        reverse("admin:messaging_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )

    added, revoked = entries_for(token)
    assert (added.action, added.actor) == (LogEntry.Action.CREATE, root)
    assert added.changes_dict["token_hash"] == [SECRET_EMPTY_MASK, SECRET_SET_MASK]
    assert (revoked.action, revoked.actor, list(revoked.changes_dict)) == (LogEntry.Action.UPDATE, root, ["revoked_at"])
    stored = every_entry_as_text()
    assert token.token_hash not in stored and token.token_hash[32:] not in stored and raw[10:] not in stored


def test_a_users_access_changes_are_recorded_with_the_password_masked(root, charlie):
    authors = Group.objects.create(name="Account operators")
    permission = Permission.objects.get(codename="change_provideraccount")
    with set_actor(root):
        charlie.groups.add(authors)
        authors.permissions.add(permission)
        charlie.user_permissions.add(Permission.objects.get(codename="view_provideraccount"))
        charlie.is_superuser = True
        charlie.set_password("a new password for charlie")
        charlie.save()

    by_user = [(e.actor, e.changes_dict) for e in entries_for(charlie) if e.actor]
    assert (root, {"groups": {"type": "m2m", "operation": "add", "objects": [str(authors)]}}) in by_user
    assert any(changes.get("user_permissions", {}).get("operation") == "add" for _, changes in by_user)
    assert (root, {"is_superuser": ["False", "True"], "password": [SECRET_SET_MASK, SECRET_SET_MASK]}) in by_user
    group_changes = [e.changes_dict for e in entries_for(authors) if e.actor == root]
    assert group_changes == [{"permissions": {"type": "m2m", "operation": "add", "objects": [str(permission)]}}]
    assert charlie.password not in every_entry_as_text()


def test_a_staff_user_without_the_permission_cannot_read_the_audit_log(client, charlie):
    make_account(Provider.PLIVO)
    client.login(username="charlie", password=PASSWORD)
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 403
