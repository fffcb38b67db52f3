"""Tencent Cloud SMS 2021-01-11 as the simulator speaks it: TC3 verification, the Response envelope
(errors in Response.Error with HTTP 200), and the provider's error codes."""

from __future__ import annotations

import hmac
import re
import time
from datetime import UTC, datetime, timedelta

from apps.providers.clients import signing
from apps.providers.simulator.common import CLOCK_SKEW, now, request_id
from apps.providers.simulator.state import Message, SimulatorState

VERSION = "2021-01-11"
TIMESTAMP_WINDOW = 300
APP_ID_RE = re.compile(r"^14\d{8}$")
REGION_RE = re.compile(r"^[a-z]{2}-[a-z]+(-\d+)?$")
# AddSmsTemplate, tencentcloud-sdk-python-sms tencentcloud/sms/v20210111/models.py (AddSmsTemplateRequest):
# SmsType 1 marketing, 2 notification, 3 verification code (since 2024-05-16); International 0 or 1.
SMS_TYPES = (1, 2, 3)
STATUS_CODES = {"approved": 0, "reviewing": 1, "approved_pending": 2, "rejected": -1, "cancelled": -1}


def _reply(fields: dict):
    from apps.providers.simulator.server import Reply

    return Reply(200, {"Response": {**fields, "RequestId": request_id()}})


def error(code: str, message: str):
    return _reply({"Error": {"Code": code, "Message": message}})


def ok(**fields):
    return _reply(fields)


def fault_reply(kind: str):
    if kind == "throttle":
        return error("RequestLimitExceeded", "The number of requests exceeds the frequency limit.")
    return error("InternalError.SendAndRecvFail", "Service access has timed out. Please try again later.")


def succeeded(reply) -> bool:
    body = reply.body if isinstance(reply.body, dict) else {}
    return reply.status == 200 and "Error" not in (body.get("Response") or {"Error": 1})


def operation(request) -> str:
    return request.headers.get("X-TC-Action") or "unknown"


def verify(state: SimulatorState, request):
    auth = signing.parse_authorization(request.headers.get("Authorization") or "", signing.TC3)
    if not auth:
        return error("AuthFailure.InvalidAuthorization", "Authorization header is malformed.")
    secret_id, _, scope = auth["Credential"].partition("/")
    secret = state.credentials["tencent"].get(secret_id)
    if secret is None:
        return error("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that it is correct.")
    try:
        timestamp = int(request.headers.get("X-TC-Timestamp") or "")
    except ValueError:
        return error("MissingParameter", "The request is missing a required parameter `Timestamp`.")
    if abs(time.time() - timestamp) > TIMESTAMP_WINDOW:
        return error("AuthFailure.SignatureExpire", "Signature expired. Timestamp is more than 5 minutes off.")
    signed = auth["SignedHeaders"]
    if not {"content-type", "host"} <= set(signed.split(";")):
        return error("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.")
    date = signing.tc3_date(timestamp)
    string_to_sign = signing.tc3_string_to_sign(
        method=request.method, query=request.query, headers=dict(request.headers.items()), signed_headers=signed,
        payload=request.body, timestamp=timestamp, service="sms",
    )  # fmt: skip
    expected = signing.tc3_signature(secret, date, "sms", string_to_sign)
    if scope != f"{date}/sms/tc3_request" or not hmac.compare_digest(expected, auth["Signature"]):
        return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    state.count_signature("tencent", "tc3")
    return None


def handle(state: SimulatorState, request):
    if problem := verify(state, request):
        return problem
    if request.headers.get("X-TC-Version") != VERSION:
        return error("NoSuchVersion", f"The API version `{request.headers.get('X-TC-Version')}` does not exist.")
    region = request.headers.get("X-TC-Region") or ""
    if not region:
        return error("MissingParameter", "The request is missing a required parameter `Region`.")
    if not REGION_RE.match(region):
        return error("UnsupportedRegion", f"The region `{region}` is not supported.")
    try:
        payload = request.json() if request.body else {}
    except ValueError:
        return error("FailedOperation.JsonParseFail", "The request body is not valid JSON.")
    if not isinstance(payload, dict):
        return error("FailedOperation.JsonParseFail", "The request body must be a JSON object.")
    handler = OPERATIONS.get(operation(request))
    if handler is None:
        return error("InvalidAction", f"The action `{operation(request)}` is not supported.")
    return handler(state, payload)


def _require(payload: dict, **types):
    """None, or an error naming the first missing or mistyped parameter."""
    for name, kind in types.items():
        if name not in payload or payload[name] in (None, ""):
            return error("MissingParameter", f"The request is missing a required parameter `{name}`.")
        if not isinstance(payload[name], kind) or isinstance(payload[name], bool):
            return error("InvalidParameter", f"The parameter `{name}` has the wrong type.")
    return None


def _app(payload: dict):
    if not APP_ID_RE.match(str(payload.get("SmsSdkAppId", ""))):
        return error("InvalidParameterValue.SdkAppIdNotExist", "SmsSdkAppId does not exist.")
    return None


def send_sms(state: SimulatorState, payload: dict):
    problem = _require(payload, PhoneNumberSet=list, SmsSdkAppId=str, TemplateId=str) or _app(payload)
    if problem:
        return problem
    if len(payload["PhoneNumberSet"]) > 200:
        return error("LimitExceeded.PhoneNumberCountLimit", "PhoneNumberSet has more than 200 numbers.")
    template = state.template("tencent", payload["TemplateId"])
    if template is not None and template.status != "approved":
        return error("FailedOperation.TemplateIncorrectOrUnapproved", "The template is not approved.")
    statuses = []
    for number in payload["PhoneNumberSet"]:
        if not (str(number).startswith("+") and str(number)[1:].isdigit()):
            return error("InvalidParameterValue.IncorrectPhoneNumber", f"PhoneNumberSet: {number} is not E.164.")
        serial = state.new_message_id("tencent")
        message = Message("tencent", serial, number, now(), template_code=payload["TemplateId"],
                          out_id=str(payload.get("SessionContext") or ""), app_id=payload["SmsSdkAppId"])  # fmt: skip
        state.add_message(message)
        statuses.append({"SerialNo": serial, "PhoneNumber": number, "Fee": 1, "SessionContext": message.out_id,
                         "Code": "Ok", "Message": "send success", "IsoCode": ""})  # fmt: skip
    return ok(SendStatusSet=statuses)


def report_conversion(state: SimulatorState, payload: dict):
    if problem := _require(payload, SmsSdkAppId=str, SerialNo=str) or _app(payload):
        return problem
    message = state.message("tencent", payload["SerialNo"])
    if message is None:
        return error("InvalidParameterValue", f"SerialNo {payload['SerialNo']} does not exist.")
    if message.app_id and message.app_id != payload["SmsSdkAppId"]:
        return error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId does not match the message.")
    seconds = payload.get("ConversionTime", int(time.time()))
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return error("InvalidParameter", "The parameter `ConversionTime` has the wrong type.")
    when = datetime.fromtimestamp(seconds, UTC)
    if when < message.sent_at.replace(microsecond=0) or when > now() + CLOCK_SKEW:
        return error("InvalidParameterValue", "ConversionTime must be after the send time and not in the future.")
    state.record_conversion("tencent", message.message_id, api="ReportConversion", converted=True,
                            time=when.isoformat())  # fmt: skip
    return ok(ReportConversionStatus={"Code": state.tencent_report_code, "Message": "report success"})


def pull_status(state: SimulatorState, payload: dict):
    problem = _require(payload, BeginTime=int, Limit=int, PhoneNumber=str, SmsSdkAppId=str) or _app(payload)
    if problem:
        return problem
    begin, end = payload["BeginTime"], payload.get("EndTime", int(time.time()))
    if begin < time.time() - timedelta(days=7).total_seconds():
        return error("InvalidParameterValue.BeginTimeVerifyFail", "BeginTime must be within the last 7 days.")
    if not isinstance(end, int) or end < begin:
        return error("InvalidParameterValue.EndTimeVerifyFail", "EndTime must not be before BeginTime.")
    if payload.get("Offset", 0) != 0:
        return error("InvalidParameterValue.OffsetVerifyFail", "Offset must be 0.")
    if not 1 <= payload["Limit"] <= 100:
        return error("InvalidParameterValue.LimitVerifyFail", "Limit must be between 1 and 100.")
    rows = [
        m
        for m in state.messages_to("tencent", payload["PhoneNumber"])
        if m.delivery != "pending" and m.app_id in ("", payload["SmsSdkAppId"]) and begin <= _receipt_time(m) <= end
    ]
    rows.sort(key=_receipt_time)
    return ok(PullSmsSendStatusSet=[_status(m) for m in rows[: payload["Limit"]]])


def _receipt_time(m: Message) -> int:
    return int((m.received_at or m.sent_at).timestamp())


def _status(m: Message) -> dict:
    success = m.delivery == "delivered"
    country = "86" if m.phone.startswith("+86") else ""
    return {
        "UserReceiveTime": _receipt_time(m),
        "CountryCode": country,
        "SubscriberNumber": m.phone[3:] if country else m.phone.lstrip("+"),
        "PhoneNumber": m.phone,
        "SerialNo": m.message_id,
        "ReportStatus": "SUCCESS" if success else "FAIL",
        "Description": "DELIVRD" if success else (m.error_code or "UNDELIV"),
        "SessionContext": m.out_id or None,
    }


def add_template(state: SimulatorState, payload: dict):
    types = dict(TemplateName=str, TemplateContent=str, SmsType=int, International=int, Remark=str)
    if problem := _require(payload, **types):
        return problem
    if payload["SmsType"] not in SMS_TYPES:
        return error("InvalidParameterValue.InvalidSmsType", "SmsType must be 1, 2 or 3.")
    if payload["International"] not in (0, 1):
        return error("InvalidParameterValue.InvalidInternational", "International must be 0 or 1.")
    if "${" in payload["TemplateContent"]:
        return error("InvalidParameterValue.InvalidTemplateFormat", "Template variables must be written {1}, {2}.")
    if len(payload["TemplateContent"]) > 500:
        return error("InvalidParameterValue.ContentLengthLimit", "TemplateContent must be at most 500 characters.")
    template = state.submit_template(
        "tencent", name=payload["TemplateName"], content=payload["TemplateContent"], type=payload["SmsType"],
        international=payload["International"], remark=payload["Remark"],
    )  # fmt: skip
    return ok(AddTemplateStatus={"TemplateId": template.code})


def describe_templates(state: SimulatorState, payload: dict):
    if problem := _require(payload, International=int):
        return problem
    ids = payload.get("TemplateIdSet") or []
    if not isinstance(ids, list) or len(ids) > 100 or not all(isinstance(i, int) for i in ids):
        return error("InvalidParameter", "TemplateIdSet must be a list of at most 100 integers.")
    with state.lock:
        templates = [t.current() for (p, _), t in state.templates.items() if p == "tencent"]
    templates = [t for t in templates if t.international == payload["International"]]
    if ids:
        templates = [t for t in templates if int(t.code) in ids]
    else:
        offset, limit = int(payload.get("Offset", 0)), int(payload.get("Limit", 0))
        templates = templates[offset : offset + limit]
    rows = [
        {
            "TemplateId": int(t.code),
            "International": t.international,
            "StatusCode": STATUS_CODES[t.status],
            "ReviewReply": t.reason,
            "TemplateName": t.name,
            "TemplateContent": t.content,
            "CreateTime": int(t.created_at.timestamp()),
        }  # fmt: skip
        for t in templates
    ]
    return ok(DescribeTemplateStatusSet=rows)


OPERATIONS = {
    "SendSms": send_sms,
    "ReportConversion": report_conversion,
    "PullSmsSendStatusByPhoneNumber": pull_status,
    "AddSmsTemplate": add_template,
    "DescribeSmsTemplateList": describe_templates,
}
