"""Provider secrets: encrypted at rest, write-only in the admin, masked in lists, never in repr."""

import logging

import pytest
from django.db import connection
from django.urls import reverse

from apps.providers.models import Provider, ProviderAccount
from tests.conftest import PASSWORD
from tests.factories import make_account

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-never-shown-0123456789"


def raw_secret(account) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key_secret FROM {ProviderAccount._meta.db_table} WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def test_the_secret_is_encrypted_in_the_database_and_readable_in_code():
    account = make_account(key_secret=SECRET)
    stored = raw_secret(account)
    assert SECRET not in stored and stored.startswith("fernet:")
    assert ProviderAccount.objects.get(pk=account.pk).key_secret == SECRET


def test_the_secret_survives_key_rotation(settings):
    from cryptography.fernet import Fernet

    account = make_account(key_secret=SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    assert ProviderAccount.objects.get(pk=account.pk).key_secret == SECRET


def test_the_change_form_never_renders_the_secret(client, root):
    account = make_account(key_secret=SECRET)
    client.login(username="root", password=PASSWORD)
    page = client.get(reverse("admin:providers_provideraccount_change", args=[account.pk])).content.decode()
    assert SECRET not in page
    assert "(set)" in page


def test_the_changelist_masks_the_secret(client, root):
    make_account(key_secret=SECRET)
    client.login(username="root", password=PASSWORD)
    page = client.get(reverse("admin:providers_provideraccount_changelist")).content.decode()
    assert SECRET not in page
    assert "•••••••• (set)" in page


def tencent_change_form(account, **changes) -> dict:
    """What the change form posts for a Tencent account, secret left empty, with `changes`."""
    form = {
        "name": account.name,
        "provider": "tencent",
        "is_active": "on",
        "key_id": account.key_id,
        "key_secret": "",
        "region": "ap-guangzhou",
        "sdk_app_id": "1400000009",
        "endpoint": "",
        "alibaba_signature": "acs3",
        "alibaba_conversion_api": "sms_conversion",
        "alibaba_template_api": "legacy",
        "conversion_allowlisted": "on",
        "report_rate_limit": "0",
        "sync_interval_minutes": "5",
        "retention_days": "180",
    }
    return {**form, **changes}


def test_saving_the_form_with_an_empty_secret_keeps_the_stored_one(client, root):
    account = make_account(Provider.TENCENT, key_secret=SECRET)
    client.login(username="root", password=PASSWORD)
    url = reverse("admin:providers_provideraccount_change", args=[account.pk])
    response = client.post(url, tencent_change_form(account, name="Renamed"))
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.name == "Renamed" and account.key_secret == SECRET


def test_a_new_account_needs_a_secret(client, root):
    client.login(username="root", password=PASSWORD)
    response = client.post(
        reverse("admin:providers_provideraccount_add"),
        {
            "name": "No secret",
            "provider": "aliyun",
            "key_id": "LTAI",
            "key_secret": "",
            "region": "cn-hangzhou",
            "alibaba_signature": "acs3",
            "alibaba_conversion_api": "sms_conversion",
            "alibaba_template_api": "legacy",
            "report_rate_limit": "0",
            "sync_interval_minutes": "5",
            "retention_days": "180",
        },
    )
    assert response.status_code == 200
    assert "AccessKeySecret is required." in response.content.decode()
    assert not ProviderAccount.objects.filter(name="No secret").exists()


def test_repr_and_str_do_not_leak_the_secret(caplog):
    account = make_account(key_secret=SECRET)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("smsdash").info("account %r %s", account, account)
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    "provider, fields, field, message",
    [
        (
            Provider.TENCENT,
            {"sdk_app_id": ""},
            "sdk_app_id",
            "SmsSdkAppId is required for Tencent: 10 digits starting with 14.",
        ),
        (
            Provider.PLIVO,
            {"key_id": "XX123"},
            "key_id",
            "Auth ID must be 20 characters starting with MA or SA (e.g. MAXXXXXXXXXXXXXXXXXX).",
        ),
        (Provider.ALIYUN, {"region": "Hangzhou"}, "region", "Region must look like cn-hangzhou or ap-guangzhou."),
        (
            Provider.ALIYUN,
            {"sdk_app_id": "1400000001"},
            "sdk_app_id",
            "SmsSdkAppId is for Tencent accounts only; leave it empty.",
        ),
    ],
)
def test_account_credentials_are_checked_per_provider(provider, fields, field, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        make_account(provider, **fields)
    assert caught.value.message_dict[field] == [message]


def test_an_operator_sets_an_accounts_retention_period_in_the_admin(client, root):
    account = make_account(Provider.TENCENT, key_secret=SECRET)
    client.login(username="root", password=PASSWORD)
    url = reverse("admin:providers_provideraccount_change", args=[account.pk])
    assert 'name="retention_days"' in client.get(url).content.decode()
    response = client.post(url, tencent_change_form(account, retention_days="30"))
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.retention_days == 30
