"""The Tencent client against the simulator over real HTTP (TC3-HMAC-SHA256, API 2021-01-11)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from apps.providers.clients import client_for
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
from apps.providers.clients.tencent import TencentClient, numbered_placeholders
from apps.providers.simulator import defaults

PHONE = "+8613800138000"
APP = defaults.DEMO_TENCENT_APP_ID


def now() -> datetime:
    return datetime.now(UTC)


def report(serial: str, at: datetime | None = None) -> ConversionReport:
    return ConversionReport(serial, PHONE, ConversionOutcome.CONVERTED, at or now())


def test_it_sends_an_sms_and_gets_a_serial_number(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    result = client.send_sms(SendRequest(phone=PHONE, template_code="2100001", params={"code": "4711"}, sign_name="D"))
    message = simulator.message("tencent", result.message_id)
    assert result.message_id.startswith("2640:") and message.phone == PHONE and message.app_id == APP
    assert simulator.stats()["signatures"]["tencent"] == {"tc3": 1}


@pytest.mark.parametrize("code", ["ok", "OK"])
def test_it_reports_a_conversion_whatever_the_case_of_the_ok_code(simulated_account, simulator, code):
    simulator.state.tencent_report_code = code
    simulator.add_message("tencent", "2640:1", PHONE, now() - timedelta(minutes=2), app_id=APP)
    converted_at = now() - timedelta(seconds=20)
    result = client_for(simulated_account("tencent")).report_conversion(report("2640:1", converted_at))
    stats = simulator.stats()
    assert result.request_id and stats["conversions"] == {"2640:1": 1}
    assert stats["last_conversion"]["2640:1"]["time"] == converted_at.replace(microsecond=0).isoformat()


def test_a_non_allowlisted_application_is_told_without_calling_tencent(simulated_account, simulator):
    client = client_for(simulated_account("tencent", conversion_allowlisted=False))
    with pytest.raises(ProviderError) as caught:
        client.report_conversion(report("2640:1"))
    assert caught.value.kind == ErrorKind.UNSUPPORTED and "allowlisted" in caught.value.message
    assert simulator.stats()["requests"] == {}


def test_a_message_of_another_application_is_an_authorization_error(simulated_account, simulator):
    simulator.add_message("tencent", "2640:2", PHONE, now() - timedelta(minutes=2), app_id="1400000002")
    with pytest.raises(ProviderError) as caught:
        client_for(simulated_account("tencent")).report_conversion(report("2640:2"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.AUTH, "UnauthorizedOperation.SmsSdkAppIdVerifyFail")


def test_an_unknown_serial_number_is_an_invalid_request(simulated_account):
    with pytest.raises(ProviderError) as caught:
        client_for(simulated_account("tencent")).report_conversion(report("2640:404"))
    assert caught.value.kind == ErrorKind.INVALID and "SerialNo" in caught.value.message
    assert caught.value.request_id


def test_a_wrong_secret_key_fails_the_signature(simulated_account):
    client = client_for(simulated_account("tencent", key_secret="wrong"))
    with pytest.raises(ProviderError) as caught:
        client.send_sms(SendRequest(phone=PHONE, template_code="1"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.AUTH, "AuthFailure.SignatureFailure")


def test_an_unknown_secret_id_is_an_authentication_error(simulated_account):
    client = client_for(simulated_account("tencent", key_id="AKIDunknown"))
    with pytest.raises(ProviderError) as caught:
        client.send_sms(SendRequest(phone=PHONE, template_code="1"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.AUTH, "AuthFailure.SecretIdNotFound")


def test_a_body_altered_after_signing_is_rejected(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    headers, body = client.signed_request("SendSms", {"PhoneNumberSet": [PHONE], "SmsSdkAppId": APP, "TemplateId": "1"})
    altered = body.replace(b"13800138000", b"13900139000")
    answer = requests.post(simulator.url + "/", data=altered, headers=headers, timeout=5).json()["Response"]
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"
    answer = requests.post(simulator.url + "/", data=body, headers=headers, timeout=5).json()["Response"]
    assert answer["SendStatusSet"][0]["Code"] == "Ok"


def test_faults_are_classified(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    request = SendRequest(phone=PHONE, template_code="1")
    expected = [
        (dict(throttle=True), ErrorKind.THROTTLED, "RequestLimitExceeded"),
        (dict(error_rate=1.0), ErrorKind.TRANSIENT, "InternalError.SendAndRecvFail"),
        (dict(outage=True), ErrorKind.TRANSIENT, "HTTP503"),
    ]
    for faults, kind, code in expected:
        simulator.set_faults(provider="tencent", **faults)
        with pytest.raises(ProviderError) as caught:
            client.send_sms(request)
        assert (caught.value.kind, caught.value.code) == (kind, code)
    simulator.set_faults(provider="aliyun", outage=True)  # another provider's outage changes nothing here
    simulator.set_faults(provider="tencent")
    assert client.send_sms(request).message_id


def test_a_slow_answer_times_out(simulated_account, simulator):
    simulator.set_faults(provider="tencent", latency_ms=600)
    with pytest.raises(ProviderError) as caught:
        TencentClient(simulated_account("tencent"), timeout=(1, 0.2)).send_sms(SendRequest(phone=PHONE))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "Timeout")


def test_delivery_status_follows_the_time_cursor_across_pages(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    start = now().replace(microsecond=0) - timedelta(hours=3)
    for i in range(5):
        sent = start + timedelta(minutes=10 * i)
        outcome = "failed" if i == 3 else "delivered"
        simulator.add_message("tencent", f"2640:{i}", PHONE, sent, delivery=outcome, error_code="MK:0001", app_id=APP)
    simulator.add_message("tencent", "2640:pending", PHONE, start, delivery="pending", app_id=APP)
    query = DeliveryQuery(phone=PHONE, day=client.send_day(start), page_size=2)
    first = client.delivery_status(query)
    assert first.has_more and first.next_cursor and first.total is None
    records = client.delivery_records(query)
    assert [r.message_id for r in records] == [f"2640:{i}" for i in range(5)]
    assert records[3].state == DeliveryState.FAILED and records[3].error_code == "MK:0001"
    assert records[0].state == DeliveryState.DELIVERED and records[0].received_at == start + timedelta(seconds=3)
    assert simulator.stats()["succeeded"]["tencent"]["PullSmsSendStatusByPhoneNumber"] == 1 + 3


def test_delivery_status_of_one_serial_number(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    sent = now() - timedelta(hours=1)
    simulator.add_message("tencent", "2640:a", PHONE, sent, app_id=APP)
    simulator.add_message("tencent", "2640:b", PHONE, sent, delivery="failed", app_id=APP)
    page = client.delivery_status(DeliveryQuery(phone=PHONE, day=client.send_day(sent), message_id="2640:b"))
    assert [(r.message_id, r.state) for r in page.records] == [("2640:b", DeliveryState.FAILED)]


def test_one_range_query_pulls_a_phones_receipts_of_several_days(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    today = now().replace(microsecond=0)
    for back in (1, 3, 5):
        simulator.add_message("tencent", f"2640:d{back}", PHONE, today - timedelta(days=back), app_id=APP)
    first = client.send_day(today - timedelta(days=5))
    page = client.delivery_status(DeliveryQuery(phone=PHONE, day=first, until=client.send_day(today), page_size=100))
    assert [r.message_id for r in page.records] == ["2640:d5", "2640:d3", "2640:d1"] and not page.has_more
    single = client.delivery_status(DeliveryQuery(phone=PHONE, day=first, page_size=100))
    assert [r.message_id for r in single.records] == ["2640:d5"]  # a query without until: that day (and the next)
    assert simulator.stats()["succeeded"]["tencent"]["PullSmsSendStatusByPhoneNumber"] == 2


def test_a_range_reaching_past_seven_days_starts_at_tencents_limit_instead_of_failing(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    simulator.add_message("tencent", "2640:recent", PHONE, now() - timedelta(days=2), app_id=APP)
    today = now().date()
    page = client.delivery_status(DeliveryQuery(phone=PHONE, day=today - timedelta(days=7), until=today))
    assert [r.message_id for r in page.records] == ["2640:recent"]
    with pytest.raises(ValueError):
        client.delivery_status(DeliveryQuery(phone=PHONE, day=today, until=today - timedelta(days=1)))


def test_receipts_older_than_seven_days_cannot_be_pulled(simulated_account):
    client = client_for(simulated_account("tencent"))
    with pytest.raises(ProviderError) as caught:
        client.delivery_status(DeliveryQuery(phone=PHONE, day=now().date() - timedelta(days=9)))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, "InvalidParameterValue.BeginTimeVerifyFail")


def test_template_variables_are_sent_as_numbered_placeholders(simulated_account, simulator):
    assert numbered_placeholders("Hi ${name}, code ${code}; ${name}") == "Hi {1}, code {2}; {1}"
    client = client_for(simulated_account("tencent"))
    submission = TemplateSubmission(name="OTP", type="verification", content="Code ${code}.", remark="Login")
    code = client.submit_template(submission).template_code
    template = simulator.template("tencent", code)
    assert (template.content, template.type, template.international) == ("Code {1}.", 3, 0)


@pytest.mark.parametrize("kind,sms_type", [("promotional", 1), ("notification", 2), ("verification", 3)])
def test_an_international_template_is_filed_with_the_smstype_of_its_kind(simulated_account, simulator, kind, sms_type):
    submission = TemplateSubmission(name="Intl", type=kind, content="Hello ${name}.", remark="r", international=True)
    code = client_for(simulated_account("tencent")).submit_template(submission).template_code
    template = simulator.template("tencent", code)
    assert (template.type, template.international) == (sms_type, 1)


def test_a_template_goes_from_review_to_approved_or_rejected(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    submission = TemplateSubmission(name="Notice", type="notification", content="Order {1} shipped.", remark="r")
    simulator.set_review(outcome="approved", delay=0.3)
    code = client.submit_template(submission).template_code
    assert client.template_status(code).state == ReviewState.REVIEWING
    time.sleep(0.35)
    assert client.template_status(code).state == ReviewState.APPROVED
    simulator.set_review(outcome="rejected", reason="Signature and content do not match.")
    rejected = client.template_status(client.submit_template(submission).template_code)
    assert (rejected.state, rejected.reason) == (ReviewState.REJECTED, "Signature and content do not match.")


def test_international_and_pending_templates_are_found(simulated_account, simulator):
    simulator.add_template("tencent", code="2100009", status="approved_pending", international=1)
    review = client_for(simulated_account("tencent")).template_status("2100009")
    assert review.state == ReviewState.APPROVED_PENDING
    assert simulator.stats()["succeeded"]["tencent"]["DescribeSmsTemplateList"] == 2  # mainland, then global


def test_an_unknown_template_is_an_invalid_request(simulated_account):
    with pytest.raises(ProviderError) as caught:
        client_for(simulated_account("tencent")).template_status("999")
    assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, "FailedOperation.TemplateIdNotExist")


def test_the_provider_refuses_an_unknown_sms_type(simulated_account, simulator):
    client = client_for(simulated_account("tencent"))
    headers, body = client.signed_request(
        "AddSmsTemplate",
        {"TemplateName": "x", "TemplateContent": "y", "SmsType": 9, "International": 0, "Remark": "r"},
    )
    answer = requests.post(simulator.url + "/", data=body, headers=headers, timeout=5).json()["Response"]
    assert answer["Error"]["Code"] == "InvalidParameterValue.InvalidSmsType"


@pytest.mark.parametrize(
    "code,kind",
    [
        ("AuthFailure.SignatureExpire", ErrorKind.AUTH),
        ("UnauthorizedOperation.ServiceSuspendDueToArrears", ErrorKind.AUTH),
        ("FailedOperation.ProhibitSubAccountUse", ErrorKind.AUTH),
        ("RequestLimitExceeded.UinLimitExceeded", ErrorKind.THROTTLED),
        ("LimitExceeded.PhoneNumberDailyLimit", ErrorKind.INVALID),
        ("InternalError.Timeout", ErrorKind.TRANSIENT),
        ("ServiceUnavailable", ErrorKind.TRANSIENT),
        ("InvalidParameterValue.IncorrectPhoneNumber", ErrorKind.INVALID),
        ("FailedOperation.TemplateIdNotExist", ErrorKind.INVALID),
    ],
)
def test_tencent_error_codes_are_classified_so_callers_can_act(code, kind):
    from apps.providers.clients.tencent import classify

    assert classify(code) == kind


# What a retry can do for each documented InternalError and LimitExceeded code (meanings: the comments
# in the SDK's errorcodes.py). Only timeouts, unreadable carrier answers, unknown errors and windows of
# seconds are worth retrying; clock skew, signatures, daily caps and blocked regions are not.
RETRY_VERDICTS = {
    "InternalError.JsonParseFail": ErrorKind.INVALID,
    "InternalError.OtherError": ErrorKind.INVALID,
    "InternalError.ParseBackendResponseFail": ErrorKind.TRANSIENT,
    "InternalError.RequestTimeException": ErrorKind.AUTH,
    "InternalError.RestApiInterfaceNotExist": ErrorKind.INVALID,
    "InternalError.SendAndRecvFail": ErrorKind.TRANSIENT,
    "InternalError.SigFieldMissing": ErrorKind.AUTH,
    "InternalError.SigVerificationFail": ErrorKind.AUTH,
    "InternalError.Timeout": ErrorKind.TRANSIENT,
    "InternalError.UnknownError": ErrorKind.TRANSIENT,
    "LimitExceeded.AppCountryOrRegionDailyLimit": ErrorKind.INVALID,
    "LimitExceeded.AppCountryOrRegionInBlacklist": ErrorKind.AUTH,
    "LimitExceeded.AppDailyLimit": ErrorKind.INVALID,
    "LimitExceeded.AppGlobalDailyLimit": ErrorKind.INVALID,
    "LimitExceeded.AppMainlandChinaDailyLimit": ErrorKind.INVALID,
    "LimitExceeded.DailyLimit": ErrorKind.INVALID,
    "LimitExceeded.DeliveryFrequencyLimit": ErrorKind.INVALID,
    "LimitExceeded.GlobalSmsSendingRateLimit": ErrorKind.THROTTLED,
    "LimitExceeded.PhoneNumberCountLimit": ErrorKind.INVALID,
    "LimitExceeded.PhoneNumberDailyLimit": ErrorKind.INVALID,
    "LimitExceeded.PhoneNumberOneHourLimit": ErrorKind.INVALID,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": ErrorKind.INVALID,
    "LimitExceeded.PhoneNumberThirtySecondLimit": ErrorKind.THROTTLED,
}


def sdk_codes(*families: str) -> set[str]:
    from tencentcloud.sms.v20210111 import errorcodes

    values = (getattr(errorcodes, name) for name in dir(errorcodes) if name.isupper())
    return {code for code in values if isinstance(code, str) and code.startswith(families)}


def test_every_internal_error_and_limit_code_of_the_sdk_has_a_verdict():
    assert sdk_codes("InternalError.", "LimitExceeded.") == set(RETRY_VERDICTS)


@pytest.mark.parametrize("code", sorted(RETRY_VERDICTS))
def test_only_internal_errors_and_limits_a_retry_can_pass_are_retried(code):
    from apps.providers.clients.tencent import classify

    assert classify(code) == RETRY_VERDICTS[code]


def test_a_request_signed_more_than_five_minutes_ago_is_refused(simulated_account, simulator, monkeypatch):
    client = client_for(simulated_account("tencent"))
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000)  # the caller's clock is far behind
    headers, body = client.signed_request("DescribeSmsTemplateList", {"International": 0})
    monkeypatch.undo()
    answer = requests.post(simulator.url + "/", data=body, headers=headers, timeout=5).json()["Response"]
    assert answer["Error"]["Code"] == "AuthFailure.SignatureExpire"


def test_a_conversion_status_other_than_ok_is_an_error(simulated_account, simulator):
    simulator.state.tencent_report_code = "FailedOperation.SerialNoExpired"
    simulator.add_message("tencent", "2640:9", PHONE, now() - timedelta(minutes=2), app_id=APP)
    with pytest.raises(ProviderError) as caught:
        client_for(simulated_account("tencent")).report_conversion(report("2640:9"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, "FailedOperation.SerialNoExpired")
