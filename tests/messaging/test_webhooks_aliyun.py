"""Alibaba's receipt push in both documented shapes: the domestic SmsReport (PROVIDERS.md A.6) and the
international one (To, Status, MessageId, RFC 2822 dates; alibabacloud.com/help/en/sms/developer-
reference/sms-webhook), and the phone numbers in them as the docs say they are written."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from apps.messaging.delivery import formats
from apps.messaging.models import DeliveryReceipt, SentMessage
from apps.providers.clients.aliyun import CHINA_TIME
from apps.providers.models import Provider
from smsdash.boundary import CONTROL_CHARACTER, NOT_ASCII_DIGITS
from tests.factories import make_account, make_message
from tests.messaging.webhook_requests import post_json

pytestmark = pytest.mark.django_db

ALIBABA_OK = {"code": 0, "msg": "接收成功"}


def rfc2822(moment) -> str:
    """A time as the international receipt writes it: 'Thu, 25 Nov 2021 10:27:33 +0800'."""
    return format_datetime(moment.astimezone(CHINA_TIME).replace(microsecond=0))


def intl_report(message_id: str, status: str = "1", **overrides) -> dict:
    received = timezone.now() - timedelta(minutes=1)
    report = {
        "To": "85212345678",
        "SendDate": rfc2822(received - timedelta(seconds=33)),
        "ReceiveDate": rfc2822(received),
        "Status": status,
        "SmsSize": "1",
        "ErrorCode": "success",
        "ErrorDescription": "success",
        "MessageId": message_id,
    }
    report.update(overrides)
    return report


def test_an_international_report_as_documented_is_applied_and_answered_as_alibaba_expects(client):
    account = make_account(Provider.ALIYUN)
    message = make_message(account, provider_message_id="123456789", phone="+85212345678")
    report = intl_report("123456789")
    response = post_json(client, account, report)  # one object, as the docs' example
    assert (response.status_code, response.json()) == (200, ALIBABA_OK)
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("delivered", "")
    assert rfc2822(message.received_at) == report["ReceiveDate"]


def test_international_reports_in_a_batch_record_failed_and_expired_messages(client):
    account = make_account(Provider.ALIYUN)
    failed = make_message(account, provider_message_id="1001", phone="+85212345678")
    expired = make_message(account, provider_message_id="1002", phone="+85212345678")
    body = [intl_report("1001", "2", ErrorCode="SP_UNKNOW_ERROR"), intl_report("1002", "6", ErrorCode="EXPIRED")]
    response = post_json(client, account, body)
    assert (response.status_code, response.json()) == (200, ALIBABA_OK)
    failed.refresh_from_db()
    expired.refresh_from_db()
    assert (failed.delivery_status, failed.error_code) == ("failed", "SP_UNKNOW_ERROR")
    assert (expired.delivery_status, expired.error_code) == ("failed", "EXPIRED")


def test_an_international_report_for_an_unknown_message_is_kept_with_its_number(client):
    account = make_account(Provider.ALIYUN)
    response = post_json(client, account, [intl_report("999", To="14155552222")])
    assert response.status_code == 200
    assert DeliveryReceipt.objects.get().phone == "+14155552222"


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("MessageId", "1234\x00", CONTROL_CHARACTER),
        ("ErrorCode", "IC:\x070001", CONTROL_CHARACTER),
        ("To", "852١2345678", NOT_ASCII_DIGITS),
    ],
)
def test_an_international_report_whose_text_breaks_a_rule_is_refused_naming_field_and_rule(client, field, value, rule):
    account = make_account(Provider.ALIYUN)
    make_message(account, provider_message_id="1234", phone="+85212345678")
    response = post_json(client, account, [intl_report("1234", "2", **{field: value})])
    expected = formats.FIELD_RULE.format(index=0, field=field, rule=rule)
    assert (response.status_code, response.json()) == (400, {"code": 1, "msg": expected})
    assert not DeliveryReceipt.objects.exists()
    assert not SentMessage.objects.exclude(delivery_status="pending").exists()


def test_an_international_report_with_an_unreadable_date_is_refused_naming_the_field(client):
    account = make_account(Provider.ALIYUN)
    response = post_json(client, account, [intl_report("1234", ReceiveDate="25/11/2021 10:27")])
    expected = formats.BAD_INTL_TIME.format(index=0, field="ReceiveDate")
    assert (response.status_code, response.json()) == (400, {"code": 1, "msg": expected})


def test_an_international_report_without_its_message_id_is_refused_naming_it(client):
    account = make_account(Provider.ALIYUN)
    report = intl_report("")
    response = post_json(client, account, [report])
    expected = formats.FIELD_MISSING.format(index=0, field="MessageId")
    assert (response.status_code, response.json()) == (400, {"code": 1, "msg": expected})


def domestic_report(biz_id: str, phone: str) -> dict:
    return {
        "phone_number": phone,
        "send_time": (timezone.now() - timedelta(minutes=2)).astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
        "report_time": (timezone.now() - timedelta(minutes=1)).astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": "",
    }


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("14155552222", "+14155552222"),  # US/Canada: country code 1, and no mainland mobile starts 141
        ("13811112222", "+8613811112222"),  # mainland: 11 national digits
        ("8613811112222", "+8613811112222"),
        ("85212345678", "+85212345678"),
    ],
)
def test_a_domestic_report_keeps_a_country_code_the_number_already_has(client, written, stored):
    account = make_account(Provider.ALIYUN)
    response = post_json(client, account, [domestic_report("unknown^0", written)])
    assert response.status_code == 200
    assert DeliveryReceipt.objects.get().phone == stored
