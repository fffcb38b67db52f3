from __future__ import annotations

import json
import logging

import pytest

from apps.messaging.delivery import formats, webhooks
from apps.messaging.models import DeliveryReceipt
from apps.providers.models import Provider
from tests.factories import make_account, make_message

pytestmark = pytest.mark.django_db

PLIVO_TOKEN = "plivo-test-token"


def test_plivo_v3_signature_matches_the_sdks_published_computation():
    params = {
        "MessageUUID": ["5b40a428-bfc7-4daf-9d06-726c558bf3b8"],
        "Status": ["delivered"],
        "To": ["14155552222"],
        "From": ["14155551111"],
    }
    uri = "https://example.com/sms/status/?b=2&a=1"
    post = formats.plivo_v3_base("POST", uri, params)
    get = formats.plivo_v3_base("GET", uri, params)
    assert formats.plivo_v3_signature(base=post, nonce="12345", auth_token="my_auth_token") == (
        "bmbYO+0FAS14p+qJ4KsslTgPBkS2rx/g6RAD3MR1wLs="
    )
    assert formats.plivo_v3_signature(base=get, nonce="12345", auth_token="my_auth_token") == (
        "FKNJ3Zu1vGiYwtKD2FhZm9KnqChQ0hptXNMnqA8VIT4="
    )


# Tencent ---------------------------------------------------------------------------------------


def tencent_receipt(sid: str, status: str = "SUCCESS", errmsg: str = "DELIVRD") -> dict:
    return {
        "user_receive_time": "2026-11-23 16:03:04",
        "nationcode": "86",
        "mobile": "13800000001",
        "report_status": status,
        "errmsg": errmsg,
        "description": "",
        "sid": sid,
    }


def test_tencent_callback_applies_a_batch_and_keeps_unknown_receipts(client):
    account = make_account(Provider.TENCENT)
    known = make_message(account, provider_message_id="sid-1", phone="+8613800000001")
    failed = make_message(account, provider_message_id="sid-2", phone="+8613800000001")
    body = [tencent_receipt("sid-1"), tencent_receipt("sid-2", "FAIL", "MK:0005"), tencent_receipt("sid-unknown")]
    url = webhooks.webhook_path(account)
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert (response.status_code, response.json()) == (200, {"result": 0, "errmsg": "OK"})
    known.refresh_from_db()
    failed.refresh_from_db()
    assert (known.delivery_status, known.received_at.isoformat()) == ("delivered", "2026-11-23T08:03:04+00:00")
    assert (failed.delivery_status, failed.error_code) == ("failed", "MK:0005")
    assert DeliveryReceipt.objects.get().provider_message_id == "sid-unknown"


def test_tencent_callback_with_a_wrong_token_is_not_found(client):
    account = make_account(Provider.TENCENT)
    message = make_message(account, provider_message_id="sid-3")
    url = webhooks.webhook_path(account).rsplit("/", 1)[0] + "/wrong"
    response = client.post(url, json.dumps([tencent_receipt("sid-3")]), content_type="application/json")
    assert response.status_code == 404
    message.refresh_from_db()
    assert message.delivery_status == "pending"


def test_tencent_callback_that_is_not_an_array_gets_a_clear_400(client):
    account = make_account(Provider.TENCENT)
    url = webhooks.webhook_path(account)
    response = client.post(url, json.dumps({"sid": "x"}), content_type="application/json")
    assert (response.status_code, response.json()["errmsg"]) == (400, formats.NOT_JSON_ARRAY)
    missing = client.post(url, json.dumps([{"report_status": "SUCCESS"}]), content_type="application/json")
    assert missing.json()["errmsg"] == formats.FIELD_MISSING.format(index=0, field="mobile")


# Alibaba ---------------------------------------------------------------------------------------


def test_aliyun_sms_report_is_applied_and_answered_as_alibaba_expects(client):
    account = make_account(Provider.ALIYUN)
    message = make_message(account, provider_message_id="12345^0", phone="+8613811112222")
    report = {
        "phone_number": "13811112222",
        "send_time": "2026-11-23 16:00:00",
        "report_time": "2026-11-23 16:00:03",
        "success": False,
        "err_code": "IC:0001",
        "err_msg": "空号",
        "sms_size": "1",
        "biz_id": "12345^0",
        "out_id": "",
    }
    url = webhooks.webhook_path(account)
    for _ in range(2):  # Alibaba warns its receipts can come twice
        response = client.post(url, json.dumps([report]), content_type="application/json")
        assert (response.status_code, response.json()) == (200, {"code": 0, "msg": "接收成功"})
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "IC:0001")
    assert DeliveryReceipt.objects.count() == 0


# Plivo -----------------------------------------------------------------------------------------


def plivo_post(client, account, form: dict, *, nonce: str = "31337", token: str = PLIVO_TOKEN, signature=None):
    url = webhooks.webhook_path(account)
    base = formats.plivo_v3_base("POST", f"http://testserver{url}", {k: [v] for k, v in form.items()})
    signature = signature or formats.plivo_v3_signature(base=base, nonce=nonce, auth_token=token)
    return client.post(url, form, headers={"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce})


def plivo_form(uuid: str, status: str = "delivered", **extra) -> dict:
    return {"MessageUUID": uuid, "Status": status, "To": "14155552222", "From": "14155551111", **extra}


def test_plivo_callback_with_a_good_signature_is_applied(client):
    account = make_account(Provider.PLIVO)
    message = make_message(account, provider_message_id="uuid-1", phone="+14155552222")
    response = plivo_post(client, account, plivo_form("uuid-1", DeliveryReportTime="2026-11-23 10:00:01.5"))
    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.delivery_status, message.received_at.isoformat()) == (
        "delivered",
        "2026-11-23T10:00:01.500000+00:00",
    )


def test_plivo_callback_with_a_bad_signature_is_refused_and_logged(client, caplog):
    account = make_account(Provider.PLIVO)
    message = make_message(account, provider_message_id="uuid-2", phone="+14155552222")
    with caplog.at_level(logging.WARNING):
        forged = plivo_post(client, account, plivo_form("uuid-2", "undelivered"), token="someone-elses-token")
        unsigned = client.post(webhooks.webhook_path(account), plivo_form("uuid-2", "undelivered"))
    assert (forged.status_code, forged.json()["error"]) == (403, webhooks.SIGNATURE_INVALID)
    assert (unsigned.status_code, unsigned.json()["error"]) == (403, webhooks.SIGNATURE_MISSING)
    assert "bad signature" in caplog.text and PLIVO_TOKEN not in caplog.text
    message.refresh_from_db()
    assert message.delivery_status == "pending"


def test_a_replayed_plivo_callback_is_acknowledged_and_changes_nothing(client, caplog):
    account = make_account(Provider.PLIVO)
    message = make_message(account, provider_message_id="uuid-3", phone="+14155552222")
    first = plivo_post(client, account, plivo_form("uuid-3", "failed", ErrorCode="30"), nonce="n-1")
    message.refresh_from_db()
    applied_at = message.updated_at
    with caplog.at_level(logging.WARNING):
        replay = plivo_post(client, account, plivo_form("uuid-3", "failed", ErrorCode="30"), nonce="n-1")
    assert (first.status_code, replay.status_code, replay.json()) == (200, 200, {"status": "replayed"})
    assert "replayed" in caplog.text
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code, message.updated_at) == ("failed", "30", applied_at)


def test_plivo_receipt_for_an_unknown_message_is_stored_with_200(client):
    account = make_account(Provider.PLIVO)
    response = plivo_post(client, account, plivo_form("uuid-later", "sent"))
    assert response.status_code == 200
    assert DeliveryReceipt.objects.get().state == "pending"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("queued", "pending"),
        ("sent", "pending"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "failed"),
        ("failed", "failed"),
        ("rejected", "failed"),
    ],
)
def test_every_plivo_message_state(client, status, expected):
    account = make_account(Provider.PLIVO)
    message = make_message(account, provider_message_id=f"uuid-{status}", phone="+14155552222")
    assert plivo_post(client, account, plivo_form(f"uuid-{status}", status), nonce=status).status_code == 200
    message.refresh_from_db()
    assert message.delivery_status == expected
