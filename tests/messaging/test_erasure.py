"""Erasure: "Erase this phone number" removes one number from every message, receipt and export file
on disk, keeps the dashboard's figures, and records who did it and how many rows, never the number."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.dashboard.erasure import EXPORT_ERASED
from apps.dashboard.export_jobs import export_path, export_run
from apps.dashboard.models import ExportKind, ExportRecord, ExportState, HourlyStat
from apps.dashboard.rollups import rollups_refresh
from apps.messaging.admin_phones import ERASE_ONE_NUMBER
from apps.messaging.models import DeliveryReceipt, PhoneErasure, SentMessage
from tests.conftest import PASSWORD
from tests.factories import make_account, make_conversion, make_message

pytestmark = pytest.mark.django_db

ERASED = "+8613800138000"
OTHER = "+86138001380001"  # starts with the erased number: must stay


@pytest.fixture
def rows(db):
    account = make_account()
    for phone in (ERASED, ERASED, OTHER):
        message = make_message(account, phone=phone, content="Your code is 123456.")
        make_conversion(message)
        DeliveryReceipt.objects.create(
            account=account,
            provider_message_id=message.provider_message_id,
            fingerprint=f"id:{message.pk}",
            phone=phone,
            state="delivered",
            source="webhook",
            message=message,
        )
    DeliveryReceipt.objects.create(account=account, fingerprint="early", phone=ERASED, state="failed", source="pull")


@pytest.fixture
def root_client(client, root):
    client.login(username="root", password=PASSWORD)
    return client


def _erase(client, model: str, ids) -> str:
    url = reverse(f"admin:messaging_{model}_changelist")
    response = client.post(url, {"action": "erase_phone_number", "_selected_action": list(ids)}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def _export(user, settings, tmp_path) -> ExportRecord:
    settings.DASHBOARD_EXPORT_DIR = tmp_path
    record = ExportRecord.objects.create(
        user=user, kind=ExportKind.MESSAGES, filename="m.csv", filters={}, state=ExportState.QUEUED
    )
    export_run(record_id=record.pk)
    return record


def test_erasing_a_number_removes_it_from_every_message_and_receipt(root_client, root, rows):
    ids = SentMessage.objects.filter(phone=ERASED).values_list("pk", flat=True)
    page = _erase(root_client, "sentmessage", ids[:1])
    assert "Phone number erased: 2 message(s), 2 conversion(s), 3 receipt(s) and 0 export file(s)" in page
    assert not SentMessage.objects.filter(phone=ERASED).exists()
    assert not DeliveryReceipt.objects.filter(phone=ERASED).exists()
    assert not SentMessage.objects.filter(content__contains="123456").exclude(phone=OTHER).exists()
    assert SentMessage.objects.filter(phone=OTHER).count() == 1
    assert DeliveryReceipt.objects.filter(phone=OTHER).count() == 1


def test_the_erasure_is_recorded_without_the_number(root_client, root, rows):
    _erase(
        root_client, "deliveryreceipt", DeliveryReceipt.objects.filter(fingerprint="early").values_list("pk", flat=True)
    )
    erasure = PhoneErasure.objects.get()
    assert (erasure.erased_by, erasure.messages, erasure.conversions, erasure.receipts) == (root, 2, 2, 3)
    html = root_client.get(reverse("admin:messaging_phoneerasure_changelist")).content.decode()
    assert "root" in html and ERASED not in html and ERASED[1:] not in html


def test_export_files_holding_the_number_are_deleted_and_marked(root_client, root, rows, settings, tmp_path):
    holding = _export(root, settings, tmp_path)
    without = ExportRecord.objects.create(
        user=root, kind=ExportKind.MESSAGES, filename="o.csv", filters={"q": [OTHER]}, state=ExportState.QUEUED
    )
    export_run(record_id=without.pk)
    assert ERASED in export_path(holding).read_text() and OTHER in export_path(without).read_text()

    page = _erase(root_client, "sentmessage", SentMessage.objects.filter(phone=ERASED).values_list("pk", flat=True))

    assert "and 1 export file(s)" in page
    assert not export_path(holding).exists() and export_path(without).exists()
    holding.refresh_from_db()
    assert (holding.state, holding.error) == (ExportState.FAILED, EXPORT_ERASED)
    assert PhoneErasure.objects.get().exports == 1


def test_the_dashboard_figures_stay_the_same(root_client, rows):
    rollups_refresh()
    before = list(HourlyStat.objects.order_by("pk").values())
    _erase(root_client, "sentmessage", SentMessage.objects.filter(phone=ERASED).values_list("pk", flat=True))
    rollups_refresh()
    assert list(HourlyStat.objects.order_by("pk").values()) == before


def test_it_refuses_a_selection_of_several_numbers(root_client, rows):
    page = _erase(root_client, "sentmessage", SentMessage.objects.values_list("pk", flat=True))
    assert ERASE_ONE_NUMBER in page
    assert SentMessage.objects.filter(phone=ERASED).count() == 2 and not PhoneErasure.objects.exists()


def test_only_users_who_may_delete_messages_can_erase(client, rows):
    user = get_user_model().objects.create_user("fred", "fred@example.com", PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_sentmessage", "change_sentmessage"]))
    client.login(username="fred", password=PASSWORD)
    _erase(client, "sentmessage", SentMessage.objects.filter(phone=ERASED).values_list("pk", flat=True)[:1])
    assert SentMessage.objects.filter(phone=ERASED).count() == 2 and not PhoneErasure.objects.exists()
