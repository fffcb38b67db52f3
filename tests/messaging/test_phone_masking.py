"""Phone numbers are personal data: masked in every page and export for users without the
"view phone numbers" permission; superusers and users with it see them in full."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import reverse

from apps.dashboard.export_jobs import export_path, export_run
from apps.dashboard.models import ExportKind, ExportRecord, ExportState
from apps.messaging.models import DeliveryReceipt, SentMessage
from apps.messaging.phone import mask_phone
from tests.conftest import PASSWORD, login
from tests.factories import make_account, make_conversion, make_message


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+8613800138000", "+86 138****8000"),
        ("+14155550100", "+1 415****0100"),
        ("+919876543210", "+91 987****3210"),
        ("+4420123456", "+44 ****56"),  # too short to keep 7 digits: only the last 2
        ("13800138000", "****00"),  # not E.164
        ("", ""),
    ],
)
def test_a_masked_number_keeps_its_calling_code_first_three_and_last_four_digits(phone, shown):
    assert mask_phone(phone) == shown


# --- pages and exports -------------------------------------------------------------------------

PHONES = ["+8613800138000", "+14155550100"]


@pytest.fixture
def numbers(db):
    """A message with its conversion and receipt per number, and a receipt still without its message."""
    account = make_account()
    for n, phone in enumerate(PHONES):
        message = make_message(account, phone=phone)
        make_conversion(message)
        DeliveryReceipt.objects.create(
            account=account,
            provider_message_id=message.provider_message_id,
            fingerprint=f"id:{n}",
            phone=phone,
            state="delivered",
            source="webhook",
            message=message,
        )
    DeliveryReceipt.objects.create(
        account=account, fingerprint="phone:early", phone=PHONES[0], state="delivered", source="pull"
    )


@pytest.fixture
def dora(db):
    """A staff user given every permission but "view phone numbers"."""
    user = get_user_model().objects.create_user("dora", "dora@example.com", PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.exclude(codename="view_phone_number"))
    return user


@pytest.fixture
def erin(db):
    """A staff user who may view messages, conversions, receipts and phone numbers."""
    user = get_user_model().objects.create_user("erin", "erin@example.com", PASSWORD, is_staff=True)
    codenames = ["view_sentmessage", "view_conversion", "view_deliveryreceipt", "view_phone_number"]
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging", codename__in=codenames))
    return user


def _admin_pages():
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if meta.app_label == "django_rq":
            continue
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        for obj in model_admin.get_queryset(_request_as(None)).order_by("pk")[:5] if model_admin else ():
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_history", args=[obj.pk])


def _request_as(user):
    request = RequestFactory().get("/")
    request.user = user or get_user_model().objects.get(username="root")
    return request


def test_no_admin_page_shows_a_full_number_to_a_user_without_the_permission(client, root, dora, numbers):
    client.login(username="dora", password=PASSWORD)
    message = SentMessage.objects.first()
    client.post(  # an edit leaves its line in the admin's action log, shown on the index and history pages
        reverse("admin:messaging_sentmessage_change", args=[message.pk]),
        {
            "account": message.account_id,
            "provider_message_id": message.provider_message_id,
            "template_code": "edited",
            "sent_at_0": message.sent_at.strftime("%Y-%m-%d"),
            "sent_at_1": message.sent_at.strftime("%H:%M:%S"),
            "trackable": "on",
        },
    )
    assert SentMessage.objects.get(pk=message.pk).template_code == "edited"
    walked = 0
    for url in [reverse("admin:index"), *_admin_pages()]:
        response = client.get(url)
        assert response.status_code in (200, 403), f"{url}: {response.status_code}"
        html = response.content.decode()
        for phone in PHONES:
            assert phone not in html, f"{url} shows {phone}"
            assert phone[1:] not in html, f"{url} shows {phone} without its +"
        walked += response.status_code == 200
    assert walked > 40
    html = client.get(reverse("admin:messaging_sentmessage_changelist")).content.decode()
    assert "+86 138****8000" in html and "+1 415****0100" in html


def test_the_change_page_shows_the_number_masked_with_no_field_for_it(client, dora, numbers):
    client.login(username="dora", password=PASSWORD)
    message = SentMessage.objects.get(phone=PHONES[0])
    html = client.get(reverse("admin:messaging_sentmessage_change", args=[message.pk])).content.decode()
    assert "+86 138****8000" in html and 'name="phone"' not in html


def test_searching_by_the_full_number_finds_it_and_shows_it_masked(client, dora, numbers):
    client.login(username="dora", password=PASSWORD)
    for name in ["messaging_sentmessage", "messaging_conversion", "messaging_deliveryreceipt"]:
        html = client.get(reverse(f"admin:{name}_changelist"), {"q": PHONES[0]}).content.decode()
        results = html.split('id="result_list"')[1]
        assert "138****8000" in results and PHONES[0] not in results, name
        assert "415****0100" not in results, name


@pytest.mark.parametrize("username", ["root", "erin"])
def test_superusers_and_users_with_the_permission_see_numbers_in_full(client, root, erin, numbers, username):
    client.login(username=username, password=PASSWORD)
    for name in ["messaging_sentmessage", "messaging_deliveryreceipt"]:
        html = client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert all(phone in html for phone in PHONES), name
    message = SentMessage.objects.get(phone=PHONES[0])
    html = client.get(reverse("admin:messaging_sentmessage_change", args=[message.pk])).content.decode()
    assert PHONES[0] in html


def _exported(client, name: str) -> str:
    response = client.get(reverse(f"admin:{name}_export"))
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode("utf-8")


@pytest.mark.parametrize("name", ["messaging_sentmessage", "messaging_conversion"])
def test_an_export_masks_the_numbers_for_a_user_without_the_permission(client, dora, numbers, name):
    client.login(username="dora", password=PASSWORD)
    text = _exported(client, name)
    assert "'+86 138****8000" in text and "'+1 415****0100" in text
    assert not any(phone[1:] in text for phone in PHONES)


def test_an_export_shows_the_numbers_to_a_user_with_the_permission(client, erin, numbers):
    client.login(username="erin", password=PASSWORD)
    text = _exported(client, "messaging_sentmessage")
    assert all(f"'{phone}" in text for phone in PHONES)


@pytest.mark.parametrize(("username", "masked"), [("dora", True), ("erin", False)])
def test_a_background_export_follows_the_user_who_asked(settings, tmp_path, dora, erin, numbers, username, masked):
    settings.DASHBOARD_EXPORT_DIR = tmp_path
    user = get_user_model().objects.get(username=username)
    record = ExportRecord.objects.create(
        user=user, kind=ExportKind.MESSAGES, filename="x.csv", filters={}, state=ExportState.QUEUED
    )
    export_run(record_id=record.pk)
    text = export_path(record).read_text(encoding="utf-8")
    assert ("'+86 138****8000" in text) is masked
    assert (PHONES[0] in text) is not masked


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_a_user_without_the_permission_finds_a_number_and_sees_it_masked(page, dora, numbers, artifacts):
    login(page, "dora")
    page.goto("/admin/messaging/sentmessage/")
    cells = page.locator("#result_list tbody td.field-phone_shown")
    assert sorted(cells.all_inner_texts()) == ["+1 415****0100", "+86 138****8000"]
    page.fill("#searchbar", PHONES[0])
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    assert cells.all_inner_texts() == ["+86 138****8000"]
    assert PHONES[0] not in page.inner_text("#result_list")
    page.screenshot(path=str(artifacts / "phone-masked-search.png"), full_page=True)
    assert page.console_errors == []


def test_names_logged_before_masking_are_masked_by_the_migration(numbers, root):
    migration = importlib.import_module("apps.messaging.migrations.0006_mask_phones_in_admin_log")
    message = SentMessage.objects.get(phone=PHONES[0])
    entry = LogEntry.objects.create(
        user=root,
        content_type=ContentType.objects.get_for_model(SentMessage),
        object_id=str(message.pk),
        object_repr=f"{message.provider_message_id} → {PHONES[0]}",
        action_flag=CHANGE,
    )
    migration.mask_logged_names(django_apps, None)
    entry.refresh_from_db()
    assert entry.object_repr == f"{message.provider_message_id} → +86 138****8000"
