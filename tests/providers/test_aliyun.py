"""The Alibaba client against the simulator over real HTTP: both signatures, every operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from apps.providers.clients import client_for
from apps.providers.clients.aliyun import AliyunClient
from apps.providers.clients.base import (
    ConversionOutcome,
    ConversionReport,
    DeliveryQuery,
    DeliveryState,
    ErrorKind,
    ProviderError,
    ReviewState,
    SendRequest,
    TemplateSubmission,
)
from apps.providers.models import ProviderAccount

PHONE = "+8613800138000"
SIGNATURES = pytest.mark.parametrize("signature", ["acs3", "rpc_v1"])


def now() -> datetime:
    return datetime.now(UTC)


def login_code() -> TemplateSubmission:
    return TemplateSubmission(
        name="Login code", type="verification", content="Code ${code}.", remark="Login OTP.", sign_name="Demo"
    )


@SIGNATURES
def test_it_sends_an_sms_and_the_provider_knows_the_message(simulated_account, simulator, signature):
    client = client_for(simulated_account("aliyun", alibaba_signature=signature))
    result = client.send_sms(SendRequest(phone=PHONE, template_code="SMS_1", params={"code": "4711"}, sign_name="Demo"))
    message = simulator.message("aliyun", result.message_id)
    assert message.phone == PHONE and message.template_code == "SMS_1"
    assert result.request_id
    assert simulator.stats()["signatures"]["aliyun"] == {signature: 1}


@SIGNATURES
def test_it_reports_a_conversion_with_smsconversion_on_the_international_api(simulated_account, simulator, signature):
    client = client_for(simulated_account("aliyun", alibaba_signature=signature))
    simulator.add_message("aliyun", "100^1", PHONE, now() - timedelta(minutes=2))
    converted_at = now() - timedelta(seconds=30)
    result = client.report_conversion(ConversionReport("100^1", PHONE, ConversionOutcome.CONVERTED, converted_at))
    stats = simulator.stats()
    assert result.request_id
    assert stats["conversions"] == {"100^1": 1}
    assert stats["succeeded"]["aliyun"] == {"SmsConversion": 1}
    report = stats["last_conversion"]["100^1"]
    assert report["converted"] is True
    assert abs(datetime.fromisoformat(report["time"]) - converted_at) < timedelta(milliseconds=1)


def test_it_reports_with_smsconversionintl_when_the_account_says_so(simulated_account, simulator):
    client = client_for(simulated_account("aliyun", alibaba_conversion_api="sms_conversion_intl"))
    simulator.add_message("aliyun", "100^2", PHONE, now() - timedelta(minutes=2))
    client.report_conversion(ConversionReport("100^2", PHONE, ConversionOutcome.NOT_CONVERTED, now()))
    stats = simulator.stats()
    assert stats["succeeded"]["aliyun"] == {"SmsConversionIntl": 1}
    assert stats["last_conversion"]["100^2"]["converted"] is False


def test_a_conversion_for_an_unknown_message_is_an_invalid_request_naming_the_message(simulated_account):
    client = client_for(simulated_account("aliyun"))
    with pytest.raises(ProviderError) as caught:
        client.report_conversion(ConversionReport("404^404", PHONE, ConversionOutcome.CONVERTED, now()))
    error = caught.value
    assert (error.kind, error.code, error.provider) == (ErrorKind.INVALID, "isv.INVALID_PARAMETERS", "aliyun")
    assert "MessageId 404^404" in error.message and error.request_id and not error.retryable


def test_a_conversion_before_the_send_time_is_refused(simulated_account, simulator):
    client = client_for(simulated_account("aliyun", alibaba_conversion_api="sms_conversion_intl"))
    simulator.add_message("aliyun", "100^3", PHONE, now() - timedelta(minutes=1))
    with pytest.raises(ProviderError) as caught:
        client.report_conversion(
            ConversionReport("100^3", PHONE, ConversionOutcome.CONVERTED, now() - timedelta(hours=1))
        )
    assert caught.value.kind == ErrorKind.INVALID and "ConversionTime" in caught.value.message
    assert simulator.stats()["conversions"] == {}


@SIGNATURES
def test_a_wrong_secret_is_an_authentication_error(simulated_account, simulator, signature):
    client = client_for(simulated_account("aliyun", alibaba_signature=signature, key_secret="not-the-secret"))
    with pytest.raises(ProviderError) as caught:
        client.send_sms(SendRequest(phone=PHONE, template_code="SMS_1", sign_name="Demo"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.AUTH, "SignatureDoesNotMatch")
    assert simulator.stats()["succeeded"] == {}


def test_an_unknown_access_key_is_an_authentication_error(simulated_account):
    client = client_for(simulated_account("aliyun", key_id="LTAI5tUnknownKey"))
    with pytest.raises(ProviderError) as caught:
        client.send_sms(SendRequest(phone=PHONE, template_code="SMS_1", sign_name="Demo"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.AUTH, "InvalidAccessKeyId.NotFound")


@SIGNATURES
def test_a_request_altered_after_signing_is_rejected(simulated_account, simulator, signature):
    client = client_for(simulated_account("aliyun", alibaba_signature=signature))
    params = {"PhoneNumbers": "13800138000", "SignName": "Demo", "TemplateCode": "SMS_1"}
    url, headers = client.signed_request("SendSms", params)
    altered = url.replace("13800138000", "13900139000")
    response = requests.post(altered, headers=headers, timeout=5)
    assert response.status_code == 400 and response.json()["Code"] == "SignatureDoesNotMatch"
    assert simulator.stats()["succeeded"] == {}


def test_a_replayed_request_is_rejected(simulated_account):
    client = client_for(simulated_account("aliyun"))
    url, headers = client.signed_request(
        "SendSms", {"PhoneNumbers": "13800138000", "SignName": "D", "TemplateCode": "S"}
    )
    assert requests.post(url, headers=headers, timeout=5).json()["Code"] == "OK"
    assert requests.post(url, headers=headers, timeout=5).json()["Code"] == "SignatureNonceUsed"


def test_throttling_is_reported_as_throttled(simulated_account, simulator):
    simulator.set_faults(provider="aliyun", throttle=True)
    with pytest.raises(ProviderError) as caught:
        client_for(simulated_account("aliyun")).send_sms(SendRequest(phone=PHONE, template_code="S", sign_name="D"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.THROTTLED, "Throttling.User")
    assert caught.value.retryable


def test_server_errors_and_outages_are_transient(simulated_account, simulator):
    client = client_for(simulated_account("aliyun"))
    request = SendRequest(phone=PHONE, template_code="S", sign_name="D")
    simulator.set_faults(provider="aliyun", error_rate=1.0)
    with pytest.raises(ProviderError) as caught:
        client.send_sms(request)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "ServiceUnavailable")
    simulator.set_faults(provider="aliyun", outage=True)
    with pytest.raises(ProviderError) as caught:
        client.send_sms(request)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "HTTP503")
    simulator.clear_faults()
    assert client.send_sms(request).message_id


def test_a_slow_provider_times_out_as_a_transient_error(simulated_account, simulator):
    client = AliyunClient(simulated_account("aliyun"), timeout=(1, 0.2))
    simulator.set_faults(provider="aliyun", latency_ms=600)
    with pytest.raises(ProviderError) as caught:
        client.send_sms(SendRequest(phone=PHONE, template_code="S", sign_name="D"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "Timeout")


def test_an_unreachable_provider_is_transient(db):
    account = ProviderAccount(provider="aliyun", key_id="k", key_secret="s", endpoint="http://127.0.0.1:9")
    with pytest.raises(ProviderError) as caught:
        AliyunClient(account, timeout=(0.5, 0.5)).send_sms(SendRequest(phone=PHONE, template_code="S", sign_name="D"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "ConnectionError")


def _seed_day(simulator, count: int) -> datetime:
    # 10:00 China time yesterday: one SendDate whatever the hour of the test run.
    china_day = (now() + timedelta(hours=8)).date() - timedelta(days=1)
    start = datetime(china_day.year, china_day.month, china_day.day, 2, 0, tzinfo=UTC)
    for i in range(count):
        delivery = ["delivered", "failed", "pending"][i % 3]
        simulator.add_message(
            "aliyun", f"7^{i}", PHONE, start + timedelta(minutes=i), delivery=delivery, out_id=f"o{i}"
        )
    simulator.add_message("aliyun", "7^other-day", PHONE, start - timedelta(days=1))
    return start


@SIGNATURES
def test_delivery_status_pages_through_every_page(simulated_account, simulator, signature):
    client = client_for(simulated_account("aliyun", alibaba_signature=signature))
    start = _seed_day(simulator, 7)
    query = DeliveryQuery(phone=PHONE, day=client.send_day(start), page_size=3)
    first = client.delivery_status(query)
    assert (len(first.records), first.total, first.has_more) == (3, 7, True)
    records = client.delivery_records(query)
    assert [r.out_id for r in records] == [f"o{i}" for i in range(7)]
    assert [r.state for r in records[:3]] == [DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.PENDING]
    assert records[0].error_code == "DELIVERED" and records[1].error_code == "UNDELIV"
    assert records[0].sent_at == start and records[0].received_at == start + timedelta(seconds=3)
    assert simulator.stats()["succeeded"]["aliyun"]["QuerySendDetails"] == 4  # 1 + pages 1, 2, 3


def test_delivery_status_of_one_message_by_bizid(simulated_account, simulator):
    client = client_for(simulated_account("aliyun"))
    start = _seed_day(simulator, 4)
    page = client.delivery_status(DeliveryQuery(phone=PHONE, day=client.send_day(start), message_id="7^1"))
    assert [(r.message_id, r.state, r.out_id) for r in page.records] == [("7^1", DeliveryState.FAILED, "o1")]


def test_delivery_status_validates_page_size_and_send_date(simulated_account):
    client = client_for(simulated_account("aliyun"))
    with pytest.raises(ProviderError) as caught:
        client.delivery_status(DeliveryQuery(phone=PHONE, day=now().date(), page_size=51))
    assert caught.value.kind == ErrorKind.INVALID and "PageSize" in caught.value.message
    with pytest.raises(ProviderError) as caught:
        client.delivery_status(DeliveryQuery(phone=PHONE, day=now().date() - timedelta(days=31)))
    assert caught.value.kind == ErrorKind.INVALID and "SendDate" in caught.value.message


def test_send_day_is_the_china_date():
    client = AliyunClient(ProviderAccount(provider="aliyun", key_id="k", key_secret="s"))
    assert client.send_day(datetime(2026, 11, 20, 17, 0, tzinfo=UTC)).isoformat() == "2026-11-21"
    assert client.endpoint == "https://dysmsapi.aliyuncs.com"
    assert client.intl_endpoint == "https://dysmsapi.ap-southeast-1.aliyuncs.com"


@pytest.mark.parametrize("api,actions", [("legacy", ("AddSmsTemplate", "QuerySmsTemplate")),
                                         ("current", ("CreateSmsTemplate", "GetSmsTemplate"))])  # fmt: skip
def test_a_template_goes_from_review_to_approved(simulated_account, simulator, api, actions):
    client = client_for(simulated_account("aliyun", alibaba_template_api=api))
    simulator.set_review(outcome="approved", delay=60)
    submitted = client.submit_template(login_code())
    assert submitted.template_code.startswith("SMS_") and submitted.request_id
    assert client.template_status(submitted.template_code).state == ReviewState.REVIEWING
    simulator.template("aliyun", submitted.template_code).decide_at = 0  # the reviewer is done
    review = client.template_status(submitted.template_code)
    assert (review.state, review.reason) == (ReviewState.APPROVED, "")
    assert set(simulator.stats()["succeeded"]["aliyun"]) == set(actions)


@pytest.mark.parametrize("api", ["legacy", "current"])
def test_a_rejected_template_comes_back_with_the_reason(simulated_account, simulator, api):
    client = client_for(simulated_account("aliyun", alibaba_template_api=api))
    simulator.set_review(outcome="rejected", reason="Variables must be explained in the remark.")
    code = client.submit_template(login_code()).template_code
    review = client.template_status(code)
    assert (review.state, review.reason) == (ReviewState.REJECTED, "Variables must be explained in the remark.")


def test_a_cancelled_template_reads_as_cancelled(simulated_account, simulator):
    simulator.add_template("aliyun", code="SMS_465199999", status="cancelled")
    review = client_for(simulated_account("aliyun")).template_status("SMS_465199999")
    assert review.state == ReviewState.CANCELLED


def test_the_provider_checks_the_template_name_length(simulated_account):
    client = client_for(simulated_account("aliyun"))
    too_long = TemplateSubmission(name="x" * 31, type="notification", content="Hello.", remark="r")
    with pytest.raises(ProviderError) as caught:
        client.submit_template(too_long)
    assert caught.value.kind == ErrorKind.INVALID and "TemplateName" in caught.value.message


def test_an_unknown_template_is_an_invalid_request(simulated_account):
    with pytest.raises(ProviderError) as caught:
        client_for(simulated_account("aliyun")).template_status("SMS_000")
    assert caught.value.kind == ErrorKind.INVALID and "SMS_000" in caught.value.message


@pytest.mark.parametrize(
    "code,status,kind",
    [
        ("SignatureDoesNotMatch", 400, ErrorKind.AUTH),
        ("InvalidAccessKeyId.NotFound", 404, ErrorKind.AUTH),
        ("isp.RAM_PERMISSION_DENY", 200, ErrorKind.AUTH),
        ("isv.AMOUNT_NOT_ENOUGH", 200, ErrorKind.AUTH),
        ("Throttling.User", 400, ErrorKind.THROTTLED),
        ("isv.BUSINESS_LIMIT_CONTROL", 200, ErrorKind.INVALID),
        ("isv.DAY_LIMIT_CONTROL", 200, ErrorKind.INVALID),
        ("isv.MONTH_LIMIT_CONTROL", 200, ErrorKind.INVALID),
        ("isp.SYSTEM_ERROR", 200, ErrorKind.TRANSIENT),
        ("ServiceUnavailable", 503, ErrorKind.TRANSIENT),
        ("SomethingNew", 500, ErrorKind.TRANSIENT),
        ("isv.INVALID_PARAMETERS", 200, ErrorKind.INVALID),
        ("isv.MOBILE_NUMBER_ILLEGAL", 200, ErrorKind.INVALID),
        ("MissingPhoneNumber", 400, ErrorKind.INVALID),
    ],
)
def test_alibaba_error_codes_are_classified_so_callers_can_act(code, status, kind):
    from apps.providers.clients.aliyun import classify

    assert classify(code, status) == kind


def test_a_request_signed_too_long_ago_is_refused(simulated_account, simulator):
    from urllib.parse import urlencode

    from apps.providers.clients import signing
    from apps.providers.simulator import defaults

    key_id, secret = defaults.DEMO_ALIYUN_KEY
    params = {"Action": "SendSms", "Version": "2017-05-25", "AccessKeyId": key_id, "SignatureMethod": "HMAC-SHA1",
              "SignatureVersion": "1.0", "SignatureNonce": "n-1", "Format": "JSON",
              "Timestamp": (now() - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
    params["Signature"] = signing.rpc_signature(params, "POST", secret)
    answer = requests.post(f"{simulator.url}/?{urlencode(params)}", timeout=5)
    assert (answer.status_code, answer.json()["Code"]) == (400, "InvalidTimeStamp.Expired")


def test_an_rpc_request_signed_for_get_is_accepted_as_get_only(simulator):
    from urllib.parse import urlencode

    from apps.providers.clients import signing
    from apps.providers.simulator import defaults

    key_id, secret = defaults.DEMO_ALIYUN_KEY
    params = {"Action": "QuerySmsTemplate", "Version": "2017-05-25", "AccessKeyId": key_id, "TemplateCode": "SMS_1",
              "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "Format": "JSON",
              "Timestamp": now().strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
    simulator.add_template("aliyun", code="SMS_1")
    for method, nonce, expected in [("GET", "g-1", "OK"), ("POST", "g-2", "SignatureDoesNotMatch")]:
        signed = {**params, "SignatureNonce": nonce}
        signed["Signature"] = signing.rpc_signature(signed, "GET", secret)
        answer = requests.get if method == "GET" else requests.post
        assert answer(f"{simulator.url}/?{urlencode(signed)}", timeout=5).json()["Code"] == expected


def create_template_params(**overrides) -> dict:
    """CreateSmsTemplate parameters the client would send for a verification template."""
    params = {"TemplateType": 0, "TemplateName": "Login", "TemplateContent": "Code ${code}.", "Remark": "Login OTP.",
              "TemplateRule": '{"code":"numberCaptcha"}', "RelatedSignName": "Demo"}  # fmt: skip
    return {k: v for k, v in {**params, **overrides}.items() if v is not None}


def test_new_alibaba_accounts_use_createsmstemplate_and_getsmstemplate():
    assert ProviderAccount(provider="aliyun").alibaba_template_api == "current"


def test_createsmstemplate_sends_a_rule_for_the_code_and_the_sign_name(simulated_account, simulator):
    client = client_for(simulated_account("aliyun"))
    action, params = client.template_request(login_code())
    assert action == "CreateSmsTemplate"
    assert (params["TemplateRule"], params["RelatedSignName"]) == ('{"code":"numberCaptcha"}', "Demo")
    code = client.submit_template(login_code()).template_code
    assert simulator.template("aliyun", code).type == 0


def test_createsmstemplate_gives_other_variables_the_general_rule(simulated_account):
    notice = TemplateSubmission(name="Order", type="notification", content="Order ${order} for ${name}.",
                                remark="Order notice.", sign_name="Demo")  # fmt: skip
    _, params = client_for(simulated_account("aliyun")).template_request(notice)
    assert params["TemplateRule"] == '{"order":"other_number2","name":"other_number2"}'


@pytest.mark.parametrize("kind,intl_type", [("notification", 0), ("promotional", 1), ("verification", 2)])
def test_an_international_template_is_filed_with_the_intltype_of_its_kind(
    simulated_account, simulator, kind, intl_type
):
    submission = TemplateSubmission(name="Intl", type=kind, content="Code ${code}.", remark="Abroad.",
                                    international=True)  # fmt: skip
    code = client_for(simulated_account("aliyun")).submit_template(submission).template_code
    template = simulator.template("aliyun", code)
    assert (template.type, template.intl_type) == (3, intl_type)


@pytest.mark.parametrize("template_type", [0, 1, 2])
def test_the_provider_refuses_createsmstemplate_without_relatedsignname_for_types_0_to_2(
    simulated_account, template_type
):
    client = client_for(simulated_account("aliyun"))
    with pytest.raises(ProviderError) as caught:
        client.call("CreateSmsTemplate", create_template_params(TemplateType=template_type, RelatedSignName=None))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, "isv.INVALID_PARAMETERS")
    assert caught.value.message == "RelatedSignName is required when TemplateType is 0, 1 or 2."


def test_the_provider_refuses_createsmstemplate_without_a_templaterule_when_there_are_variables(simulated_account):
    client = client_for(simulated_account("aliyun"))
    with pytest.raises(ProviderError) as caught:
        client.call("CreateSmsTemplate", create_template_params(TemplateRule=None))
    assert caught.value.message == "TemplateRule is required when TemplateContent has variables."
    client.call("CreateSmsTemplate", create_template_params(TemplateRule=None, TemplateContent="No variable."))


@pytest.mark.parametrize(
    "rule,message",
    [
        ('{"otp":"numberCaptcha"}', "TemplateRule must give a rule for each variable of TemplateContent."),
        ('{"code":"digits"}', "TemplateRule has an unknown variable rule: digits."),
        ("{code}", "TemplateRule is not valid JSON."),
    ],
)
def test_the_provider_refuses_a_templaterule_that_does_not_fit_the_content(simulated_account, rule, message):
    with pytest.raises(ProviderError) as caught:
        client_for(simulated_account("aliyun")).call("CreateSmsTemplate", create_template_params(TemplateRule=rule))
    assert caught.value.message == message


@pytest.mark.parametrize("intl_type", [None, 3])
def test_the_provider_refuses_an_international_template_without_a_valid_intltype(simulated_account, intl_type):
    params = create_template_params(TemplateType=3, RelatedSignName=None, IntlType=intl_type)
    with pytest.raises(ProviderError) as caught:
        client_for(simulated_account("aliyun")).call("CreateSmsTemplate", params)
    assert caught.value.message == "IntlType must be 0, 1 or 2 when TemplateType is 3."
