"""Receipt webhooks at the input boundary: times outside the window, text with control characters,
non-ASCII digits, wrong types and bodies no parser can read, each answered as the provider's
documentation asks (PROVIDERS.md A.6, B.5, C.4) and never with a 500."""

from __future__ import annotations

import logging

import pytest
from django.db import DataError

from apps.messaging.delivery import formats, webhooks
from apps.messaging.models import DeliveryReceipt, SentMessage, WebhookNonce
from apps.providers.models import Provider
from smsdash.boundary import CONTROL_CHARACTER, NOT_ASCII_DIGITS
from tests.factories import make_account, make_message
from tests.messaging.test_webhooks import plivo_form, plivo_post, tencent_receipt
from tests.messaging.webhook_requests import post_json

pytestmark = pytest.mark.django_db

ALIYUN_REFUSED = 1  # Alibaba checks only that `code` is a number; anything but 0 is a failure


def aliyun_report(biz_id: str = "777^0", **overrides) -> dict:
    report = {
        "phone_number": "13811112222",
        "send_time": "2026-11-23 16:00:00",
        "report_time": "2026-11-23 16:00:03",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": "",
    }
    report.update(overrides)
    return report


def nothing_written() -> bool:
    return not DeliveryReceipt.objects.exists() and not SentMessage.objects.exclude(delivery_status="pending").exists()


def test_an_alibaba_report_with_year_1_times_is_applied_without_them_and_logged_with_its_id(client, caplog):
    account = make_account(Provider.ALIYUN)
    message = make_message(account, provider_message_id="777^0", phone="+8613811112222")
    report = aliyun_report(send_time="0001-01-01 00:00:00", report_time="0001-01-01 00:00:00")
    with caplog.at_level(logging.WARNING):
        response = post_json(client, account, [report])
    assert (response.status_code, response.json()) == (200, webhooks.ALIYUN_OK)
    message.refresh_from_db()
    assert (message.delivery_status, message.received_at) == ("delivered", None)
    [line] = [r.getMessage() for r in caplog.records if "777^0" in r.getMessage()]
    assert "received_at 0001-01-01" in line and "sent_at 0001-01-01" in line


def test_an_alibaba_report_for_an_unknown_message_is_kept_without_its_year_1_send_time(client):
    account = make_account(Provider.ALIYUN)
    response = post_json(client, account, [aliyun_report("later^0", send_time="0001-01-01 00:00:00")])
    assert response.status_code == 200
    receipt = DeliveryReceipt.objects.get()
    assert (receipt.provider_message_id, receipt.state, receipt.sent_at) == ("later^0", "delivered", None)
    assert receipt.received_at.isoformat() == "2026-11-23T08:00:03+00:00"


def test_a_receipt_time_far_ahead_is_dropped_too(client):
    account = make_account(Provider.ALIYUN)
    message = make_message(account, provider_message_id="777^0", phone="+8613811112222")
    assert post_json(client, account, [aliyun_report(report_time="9999-12-31 23:59:59")]).status_code == 200
    message.refresh_from_db()
    assert (message.delivery_status, message.received_at) == ("delivered", None)


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("biz_id", "777\x00^0", CONTROL_CHARACTER),
        ("err_code", "DELIV\x00RED", CONTROL_CHARACTER),
        ("out_id", "\ud800", CONTROL_CHARACTER),
        ("phone_number", "1381111٢٢٢٢", NOT_ASCII_DIGITS),
    ],
)
def test_an_alibaba_report_whose_text_breaks_a_rule_is_refused_naming_field_and_rule(client, field, value, rule):
    account = make_account(Provider.ALIYUN)
    make_message(account, provider_message_id="777^0", phone="+8613811112222")
    response = post_json(client, account, [aliyun_report(**{field: value})])
    expected = formats.FIELD_RULE.format(index=0, field=field, rule=rule)
    assert (response.status_code, response.json()) == (400, {"code": ALIYUN_REFUSED, "msg": expected})
    assert nothing_written()


def test_an_alibaba_report_with_an_object_for_an_id_is_refused(client):
    account = make_account(Provider.ALIYUN)
    response = post_json(client, account, [aliyun_report(biz_id={"$ne": ""})])
    expected = formats.NOT_TEXT.format(index=0, field="biz_id")
    assert (response.status_code, response.json()) == (400, {"code": ALIYUN_REFUSED, "msg": expected})


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("sid", "sid\x00-1", CONTROL_CHARACTER),
        ("errmsg", "DELIV\x07RD", CONTROL_CHARACTER),
        ("mobile", "1𝟡800000001", NOT_ASCII_DIGITS),
    ],
)
def test_a_tencent_receipt_whose_text_breaks_a_rule_is_refused_naming_field_and_rule(client, field, value, rule):
    account = make_account(Provider.TENCENT)
    make_message(account, provider_message_id="sid-1", phone="+8613800000001")
    response = post_json(client, account, [{**tencent_receipt("sid-1"), field: value}])
    expected = formats.FIELD_RULE.format(index=0, field=field, rule=rule)
    assert (response.status_code, response.json()) == (400, {"result": 1, "errmsg": expected})
    assert nothing_written()


def test_a_tencent_receipt_with_a_year_1_receive_time_keeps_its_state(client):
    account = make_account(Provider.TENCENT)
    message = make_message(account, provider_message_id="sid-1", phone="+8613800000001")
    response = post_json(client, account, [{**tencent_receipt("sid-1"), "user_receive_time": "0001-01-01 00:00:00"}])
    assert (response.status_code, response.json()) == (200, webhooks.TENCENT_OK)
    message.refresh_from_db()
    assert (message.delivery_status, message.received_at) == ("delivered", None)


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("body", [DEEP, b"\xff\xfe", b"[1e99999999]", b"[" + b"9" * 5000 + b"]", b""])
def test_a_body_no_parser_can_read_is_refused_in_each_providers_shape(client, body):
    aliyun, tencent = make_account(Provider.ALIYUN), make_account(Provider.TENCENT)
    a, t = post_json(client, aliyun, body), post_json(client, tencent, body)
    assert (a.status_code, t.status_code) == (400, 400)
    assert a.json()["code"] == ALIYUN_REFUSED and t.json()["result"] == 1


def test_a_deeply_nested_body_is_named_not_a_json_array(client):
    response = post_json(client, make_account(Provider.TENCENT), DEEP)
    assert response.json() == {"result": 1, "errmsg": formats.NOT_JSON_ARRAY}


def test_what_the_database_still_refuses_is_a_4xx_in_the_providers_shape(client, monkeypatch, caplog):
    def refuse(**kwargs):
        raise DataError("value too long for type character varying(64)")

    monkeypatch.setattr(webhooks, "delivery_apply", refuse)
    with caplog.at_level(logging.ERROR):
        response = post_json(client, make_account(Provider.ALIYUN), [aliyun_report()])
    assert (response.status_code, response.json()) == (400, {"code": ALIYUN_REFUSED, "msg": webhooks.NOT_STORED})
    assert "refused by the database" in caplog.text


# Plivo -----------------------------------------------------------------------------------------


def test_a_plivo_receipt_with_a_year_1_report_time_keeps_its_state(client):
    account = make_account(Provider.PLIVO)
    message = make_message(account, provider_message_id="uuid-1", phone="+14155552222")
    response = plivo_post(client, account, plivo_form("uuid-1", DeliveryReportTime="0001-01-01 00:00:00.000000"))
    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.delivery_status, message.received_at) == ("delivered", None)


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("MessageUUID", "uuid\x00-1", CONTROL_CHARACTER),
        ("ErrorCode", "30\x00", CONTROL_CHARACTER),
        ("To", "1415555٢٢٢٢", NOT_ASCII_DIGITS),
    ],
)
def test_a_signed_plivo_receipt_whose_text_breaks_a_rule_is_refused(client, field, value, rule):
    account = make_account(Provider.PLIVO)
    make_message(account, provider_message_id="uuid-1", phone="+14155552222")
    response = plivo_post(client, account, {**plivo_form("uuid-1"), field: value})
    expected = formats.PLIVO_FIELD_RULE.format(field=field, rule=rule)
    assert (response.status_code, response.json()) == (400, {"error": expected})
    assert nothing_written() and not WebhookNonce.objects.exists()


def test_a_plivo_nonce_with_a_control_character_is_refused_before_anything_is_stored(client):
    account = make_account(Provider.PLIVO)
    response = plivo_post(client, account, plivo_form("uuid-1"), nonce="12\x0034")
    assert (response.status_code, response.json()) == (
        400,
        {"error": webhooks.NONCE_RULE.format(rule=CONTROL_CHARACTER)},
    )
    assert not WebhookNonce.objects.exists()


def test_a_plivo_signature_with_non_ascii_characters_is_a_bad_signature_not_a_crash(client):
    account = make_account(Provider.PLIVO)
    response = plivo_post(client, account, plivo_form("uuid-1"), signature="é" * 44)
    assert (response.status_code, response.json()) == (403, {"error": webhooks.SIGNATURE_INVALID})


def test_the_boundary_window_is_what_drops_a_time(client, settings):
    settings.INPUT_EARLIEST_DATE = "2027-01-01"
    account = make_account(Provider.ALIYUN)
    response = post_json(client, account, [aliyun_report("later^0")])
    assert response.status_code == 200
    receipt = DeliveryReceipt.objects.get()
    assert (receipt.sent_at, receipt.received_at) == (None, None)
