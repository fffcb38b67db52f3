"""Admin forms pass the same input boundary as the API and the webhooks (smsdash/boundary.py):
a control character is refused under its field, nothing is written; line breaks stay allowed
where a field is multi-line."""

import pytest
from django.urls import reverse

from apps.providers.models import ProviderAccount
from apps.sms_templates.models import SmsTemplate
from smsdash.boundary import CONTROL_CHARACTER
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ACCOUNT_FORM = {
    "name": "Acme CN",
    "provider": "aliyun",
    "key_id": "LTAI5tAcme",
    "key_secret": "acme-secret",
    "region": "cn-hangzhou",
    "alibaba_signature": "acs3",
    "alibaba_conversion_api": "sms_conversion",
    "alibaba_template_api": "legacy",
    "report_rate_limit": "0",
    "sync_interval_minutes": "5",
    "retention_days": "180",
    "is_active": "on",
}


@pytest.mark.parametrize(("field", "value"), [("name", "Acme\x1b[31m CN"), ("key_id", "LTAI5t\x07Acme")])
def test_a_provider_account_with_a_control_character_is_refused_under_its_field(client, root, field, value):
    client.login(username="root", password=PASSWORD)
    response = client.post(reverse("admin:providers_provideraccount_add"), {**ACCOUNT_FORM, field: value})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [CONTROL_CHARACTER]
    assert not ProviderAccount.objects.exists()


def test_a_template_body_keeps_its_line_breaks_but_refuses_other_control_characters(client, root):
    client.login(username="root", password=PASSWORD)
    account = ProviderAccount.objects.create(
        provider="aliyun", name="Acme CN", key_id="LTAI5tAcme", key_secret="s", region="cn-hangzhou"
    )
    form = dict(account=account.pk, type="verification", name="Login code", remark="Sign-in", sign_name="Acme")
    form["international_kind"] = "verification"
    url = reverse("admin:sms_templates_smstemplate_add")

    refused = client.post(url, {**form, "content": "Your code is ${code}.\x00"})
    assert "Null characters are not allowed." in refused.context["adminform"].form.errors["content"]
    refused = client.post(url, {**form, "content": "Your code is ${code}.\x1b"})
    assert CONTROL_CHARACTER in refused.context["adminform"].form.errors["content"]
    assert not SmsTemplate.objects.exists()

    accepted = client.post(url, {**form, "content": "Your code is ${code}.\r\nValid for 5 minutes."})
    assert accepted.status_code == 302
    assert SmsTemplate.objects.get().content == "Your code is ${code}.\nValid for 5 minutes."
