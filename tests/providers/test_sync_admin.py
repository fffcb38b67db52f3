"""The Sync runs page's data: progress JSON for the live bar, who may read it, the account's callback path."""

from __future__ import annotations

import pytest

from apps.messaging.delivery.webhooks import webhook_path, webhook_token
from apps.providers.models import Provider, SyncKind, SyncRun, SyncStatus
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def test_the_progress_view_answers_the_state_of_the_runs_asked_for(admin_client):
    account = make_account()
    run = SyncRun.objects.create(account=account, kind=SyncKind.DELIVERY, progress_done=1, progress_total=4)
    response = admin_client.get(f"/admin/providers/syncrun/progress/?ids={run.pk},x,999999")
    state = response.json()["runs"][str(run.pk)]
    assert (state["status"], state["percent"], state["done"], state["total"]) == (SyncStatus.RUNNING, 25, 1, 4)
    assert list(response.json()["runs"]) == [str(run.pk)]


def test_staff_without_permission_cannot_read_sync_runs(client, charlie):
    client.force_login(charlie)
    assert client.get("/admin/providers/syncrun/progress/?ids=1").status_code == 403
    assert client.get("/admin/providers/syncrun/").status_code == 403


def test_the_account_page_shows_the_callback_path_to_give_the_provider(admin_client):
    account = make_account(Provider.TENCENT)
    page = admin_client.get(f"/admin/providers/provideraccount/{account.pk}/change/").content.decode()
    assert f"/webhooks/tencent/status/{account.pk}/{webhook_token(account)}" in page
    assert webhook_path(make_account(Provider.PLIVO)).startswith("/webhooks/plivo/status/")
    assert account.key_secret not in page
