"""Small factories: each returns a saved, valid object; keyword arguments override the defaults."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from apps.messaging.models import Conversion, ConversionStatus, SentMessage
from apps.providers.models import Provider, ProviderAccount
from apps.sms_templates.models import SmsTemplate, TemplateType

_seq = itertools.count(1)

ACCOUNT_DEFAULTS = {
    Provider.ALIYUN: dict(key_id="LTAI5tTestKey", key_secret="aliyun-test-secret", region="cn-hangzhou"),
    Provider.TENCENT: dict(
        key_id="AKIDtestSecretId", key_secret="tencent-test-secret", region="ap-guangzhou", sdk_app_id="1400000009"
    ),
    Provider.PLIVO: dict(key_id="MATESTACCOUNT0000001", key_secret="plivo-test-token"),
}


def make_account(provider: str = Provider.ALIYUN, **overrides) -> ProviderAccount:
    fields = dict(ACCOUNT_DEFAULTS[provider], provider=provider, name=f"{provider} account {next(_seq)}")
    fields.update(overrides)
    account = ProviderAccount(**fields)
    account.full_clean()
    account.save()
    return account


def make_template(account: ProviderAccount | None = None, **overrides) -> SmsTemplate:
    fields = dict(
        account=account or make_account(),
        name=f"Login code {next(_seq)}",
        type=TemplateType.VERIFICATION,
        content="Your code is ${code}.",
        sign_name="smsdash",
        remark="Login verification for our app.",
    )
    fields.update(overrides)
    template = SmsTemplate(**fields)
    template.full_clean()
    template.save()
    return template


def make_message(account: ProviderAccount | None = None, **overrides) -> SentMessage:
    n = next(_seq)
    fields = dict(
        account=account or make_account(),
        provider_message_id=f"msg-{n}",
        phone=f"+86138{n:08d}",
        sent_at=timezone.now() - timedelta(minutes=10),
    )
    fields.update(overrides)
    message = SentMessage(**fields)
    message.full_clean()
    message.save()
    return message


def make_conversion(message: SentMessage | None = None, **overrides) -> Conversion:
    message = message or make_message()
    fields = dict(
        message=message, status=ConversionStatus.CONVERTED, converted_at=message.sent_at + timedelta(seconds=30)
    )
    fields.update(overrides)
    conversion = Conversion(**fields)
    conversion.full_clean()
    conversion.save()
    return conversion
