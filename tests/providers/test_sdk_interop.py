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


def sdk_required_fields(model) -> set[str]:
    """The fields an Alibaba SDK request model documents as "This parameter is required." (in the comment
    block above each assignment in its __init__), as wire names."""
    import inspect
    import re

    required, comments = set(), ""
    for line in inspect.getsource(model.__init__).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments += stripped
        elif match := re.match(r"self\.(\w+) = ", stripped):
            if "This parameter is required." in comments:
                required.add("".join(part.capitalize() for part in match.group(1).split("_")))
            comments = ""
    return required


def aliyun_template_request(simulated_account, submission):
    from apps.providers.clients import client_for

    action, params = client_for(simulated_account("aliyun")).template_request(submission)
    return action, {k: v for k, v in params.items() if v is not None and v != ""}  # what signed_request sends


@pytest.mark.parametrize(
    "type_,international,expected",
    [
        ("verification", False, {"TemplateType": 0, "TemplateRule": '{"code":"numberCaptcha"}'}),
        ("notification", False, {"TemplateType": 1, "TemplateRule": '{"code":"other_number2"}'}),
        ("verification", True, {"TemplateType": 3, "IntlType": 2}),
        ("notification", True, {"TemplateType": 3, "IntlType": 0}),
        ("promotional", True, {"TemplateType": 3, "IntlType": 1}),
    ],
)
def test_the_alibaba_template_request_is_the_sdks_createsmstemplaterequest(
    simulated_account, type_, international, expected
):
    from alibabacloud_dysmsapi20170525.models import CreateSmsTemplateRequest

    from apps.providers.clients.base import TemplateSubmission

    submission = TemplateSubmission(name="Login", type=type_, content="Code ${code}.", remark="Login OTP.",
                                    international=international, sign_name="Demo")  # fmt: skip
    action, params = aliyun_template_request(simulated_account, submission)
    model = CreateSmsTemplateRequest().from_map(params)
    assert action == "CreateSmsTemplate"
    assert model.to_map() == params  # every name is one of the SDK's, nothing dropped
    assert sdk_required_fields(CreateSmsTemplateRequest) <= set(params)
    assert isinstance(model.template_type, int) and isinstance(model.intl_type, int | None)
    assert model.related_sign_name == "Demo" and expected.items() <= params.items()


def test_the_sdk_names_templatecontent_templatename_and_templatetype_as_required():
    from alibabacloud_dysmsapi20170525.models import CreateSmsTemplateRequest

    assert sdk_required_fields(CreateSmsTemplateRequest) == {"TemplateContent", "TemplateName", "TemplateType"}


def test_the_alibaba_sdk_creates_a_template_and_is_refused_without_a_template_rule(simulator):
    from alibabacloud_dysmsapi20170525 import models

    client = aliyun_sdk(simulator)
    request = models.CreateSmsTemplateRequest(
        template_type=0,
        template_name="Login",
        template_content="Code ${code}.",
        related_sign_name="Demo",
        template_rule='{"code":"numberCaptcha"}',
    )
    assert client.create_sms_template(request).body.code == "OK"
    request.template_rule = None
    refused = client.create_sms_template(request).body
    assert (refused.code, refused.message) == (
        "isv.INVALID_PARAMETERS",
        "TemplateRule is required when TemplateContent has variables.",
    )


def tencent_sms_types() -> dict[int, str]:
    """AddSmsTemplateRequest's SmsType docstring, e.g. "1表示营销短信，2表示通知短信，3表示验证码短信"."""
    import re

    from tencentcloud.sms.v20210111 import models

    doc = models.AddSmsTemplateRequest.SmsType.__doc__
    names = {"营销短信": "promotional", "通知短信": "notification", "验证码短信": "verification"}
    return {int(n): names[kind] for n, kind in re.findall(r"(\d)表示(\w+?短信)", doc)}


@pytest.mark.parametrize("kind", ["promotional", "notification", "verification"])
@pytest.mark.parametrize("international", [False, True])
def test_the_tencent_template_request_is_the_sdks_addsmstemplaterequest(kind, international):
    import warnings

    from tencentcloud.sms.v20210111 import models

    from apps.providers.clients.base import TemplateSubmission
    from apps.providers.clients.tencent import TencentClient

    submission = TemplateSubmission(name="T", type=kind, content="Hi ${name}.", remark="r", international=international)
    payload = TencentClient.template_request(submission)
    request = models.AddSmsTemplateRequest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the SDK warns of "useless" (unknown) fields
        request._deserialize(payload)
    assert tencent_sms_types()[request.SmsType] == kind
    assert request.International == int(international) and isinstance(request.SmsType, int)
