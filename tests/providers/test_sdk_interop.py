"""The providers' official SDKs (test-only dev extras) pointed at the simulator: their signed requests
are accepted, and their wrongly signed ones refused with the provider's own error code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.providers.simulator import defaults

PHONE = "+8613800138000"


def aliyun_sdk(simulator, *, secret: str = defaults.DEMO_ALIYUN_KEY[1], algorithm: str | None = None):
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi import models

    config = models.Config(
        access_key_id=defaults.DEMO_ALIYUN_KEY[0],
        access_key_secret=secret,
        endpoint=simulator.url.removeprefix("http://"),
        protocol="http",
    )
    if algorithm:
        config.signature_algorithm = algorithm
    return Client(config)


@pytest.mark.parametrize("algorithm,scheme", [(None, "acs3"), ("v2", "rpc_v1")])
def test_the_alibaba_sdk_is_accepted_with_either_signature(simulator, algorithm, scheme):
    from alibabacloud_dysmsapi20170525 import models

    client = aliyun_sdk(simulator, algorithm=algorithm)
    sent = client.send_sms(
        models.SendSmsRequest(
            phone_numbers="13800138000", sign_name="Demo", template_code="SMS_1", template_param='{"code":"4711"}'
        )
    )
    assert sent.body.code == "OK" and sent.body.biz_id
    simulator.state.message("aliyun", sent.body.biz_id).sent_at -= timedelta(minutes=1)
    details = client.query_send_details(
        models.QuerySendDetailsRequest(
            phone_number="13800138000",
            send_date=(datetime.now(UTC) + timedelta(hours=8) - timedelta(minutes=1)).strftime("%Y%m%d"),
            page_size=10,
            current_page=1,
            biz_id=sent.body.biz_id,
        )
    )
    assert details.body.code == "OK" and details.body.total_count == "1"
    converted = client.sms_conversion_intl(models.SmsConversionIntlRequest(message_id=sent.body.biz_id, delivered=True))
    assert converted.body.code == "OK", converted.body.message
    stats = simulator.stats()
    assert stats["signatures"]["aliyun"] == {scheme: 3}
    assert stats["conversions"] == {sent.body.biz_id: 1}


def test_the_alibaba_sdk_with_a_wrong_secret_gets_signaturedoesnotmatch(simulator):
    from alibabacloud_dysmsapi20170525 import models

    with pytest.raises(Exception) as caught:
        aliyun_sdk(simulator, secret="wrong").send_sms(
            models.SendSmsRequest(phone_numbers="13800138000", sign_name="D", template_code="SMS_1")
        )
    assert getattr(caught.value, "code", "") == "SignatureDoesNotMatch"


def tencent_sdk(simulator, secret: str = defaults.DEMO_TENCENT_KEY[1]):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import sms_client

    profile = ClientProfile(httpProfile=HttpProfile(endpoint=simulator.url.removeprefix("http://"), protocol="http"))
    return sms_client.SmsClient(credential.Credential(defaults.DEMO_TENCENT_KEY[0], secret), "ap-guangzhou", profile)


def test_the_tencent_sdk_is_accepted(simulator):
    from tencentcloud.sms.v20210111 import models

    client = tencent_sdk(simulator)
    send = models.SendSmsRequest()
    send.PhoneNumberSet, send.SmsSdkAppId, send.TemplateId = [PHONE], defaults.DEMO_TENCENT_APP_ID, "2100001"
    serial = client.SendSms(send).SendStatusSet[0].SerialNo
    simulator.state.message("tencent", serial).sent_at -= timedelta(minutes=1)
    conversion = models.ReportConversionRequest()
    conversion.SmsSdkAppId, conversion.SerialNo = defaults.DEMO_TENCENT_APP_ID, serial
    assert client.ReportConversion(conversion).ReportConversionStatus.Code.lower() == "ok"
    pull = models.PullSmsSendStatusByPhoneNumberRequest()
    pull.BeginTime, pull.Offset, pull.Limit = int(datetime.now(UTC).timestamp()) - 3600, 0, 10
    pull.PhoneNumber, pull.SmsSdkAppId = PHONE, defaults.DEMO_TENCENT_APP_ID
    pull.EndTime = int(datetime.now(UTC).timestamp()) + 60
    assert [s.SerialNo for s in client.PullSmsSendStatusByPhoneNumber(pull).PullSmsSendStatusSet] == [serial]
    stats = simulator.stats()
    assert stats["signatures"]["tencent"] == {"tc3": 3} and stats["conversions"] == {serial: 1}


def test_the_tencent_sdk_with_a_wrong_secret_gets_a_signature_failure(simulator):
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.sms.v20210111 import models

    request = models.DescribeSmsTemplateListRequest()
    request.International = 0
    with pytest.raises(TencentCloudSDKException) as caught:
        tencent_sdk(simulator, secret="wrong").DescribeSmsTemplateList(request)
    assert caught.value.code == "AuthFailure.SignatureFailure"


@pytest.fixture
def plivo_sdk(simulator, monkeypatch):
    import plivo
    import plivo.rest.client

    # The Plivo SDK has no endpoint option: point its base URI at the simulator.
    monkeypatch.setattr(plivo.rest.client, "PLIVO_API_BASE_URI", f"{simulator.url}/v1/Account")
    return lambda token=defaults.DEMO_PLIVO_AUTH[1]: plivo.RestClient(defaults.DEMO_PLIVO_AUTH[0], token)


def test_the_plivo_sdk_is_accepted(simulator, plivo_sdk):
    client = plivo_sdk()
    created = client.messages.create(src="smsdash", dst="14155552222", text="Your code is 4711")
    [uuid] = created.message_uuid
    assert client.messages.get(uuid).message_state == "delivered"
    assert [m.message_uuid for m in client.messages.list(limit=5)] == [uuid]
    assert simulator.stats()["signatures"]["plivo"] == {"basic": 3}


def test_the_plivo_sdk_with_a_wrong_token_gets_an_authentication_error(simulator, plivo_sdk):
    import plivo.exceptions

    with pytest.raises(plivo.exceptions.AuthenticationError):
        plivo_sdk("wrong").messages.create(src="smsdash", dst="14155552222", text="x")
