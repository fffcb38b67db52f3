"""Alibaba Cloud Dysmsapi as the simulator speaks it: ACS3 and RPC v1 verification, 2017-05-25 actions
and the 2018-05-01 SmsConversion, with the provider's error codes and response shapes."""

from __future__ import annotations

import hmac
import json
import re
from datetime import UTC, datetime, timedelta

from apps.providers.clients import signing
from apps.providers.simulator.common import CHINA_TIME, CLOCK_SKEW, as_int, e164, now, request_id
from apps.providers.simulator.state import Message, SimulatorState

V2017, V2018 = "2017-05-25", "2018-05-01"
TIMESTAMP_WINDOW = timedelta(minutes=15)
STATUS_CODES = {"reviewing": 0, "approved": 1, "approved_pending": 1, "rejected": 2, "cancelled": 10}
SEND_STATUS = {"pending": 1, "failed": 2, "delivered": 3}
# CreateSmsTemplate as the SDK's request model documents it (alibabacloud_dysmsapi20170525
# models/_create_sms_template_request.py): RelatedSignName required for TemplateType 0, 1, 2; IntlType
# (0, 1, 2) required for 3; TemplateRule required when the content has variables; Remark optional.
SIGNED_TYPES = (0, 1, 2)
INTL_TYPES = (0, 1, 2)
# The variable rules help.aliyun.com/document_detail/2806243.html names in full (it lists a few more).
TEMPLATE_RULES = {"numberCaptcha", "characterWithNumber2", "name", "other_number2", "phone_number2", "time"}
VARIABLE_RE = re.compile(r"\$\{([^{}]*)\}")


def _reply(status: int, body: dict):
    from apps.providers.simulator.server import Reply

    return Reply(status, {"RequestId": request_id(), **body})


def error(status: int, code: str, message: str):
    return _reply(status, {"Code": code, "Message": message, "HostId": "dysmsapi.aliyuncs.com"})


def ok(**fields):
    return _reply(200, {"Code": "OK", "Message": "OK", **fields})


def business_error(code: str, message: str, version: str = V2017):
    if version == V2018:
        return _reply(200, {"ResponseCode": code, "ResponseDescription": message})
    return _reply(200, {"Code": code, "Message": message})


def fault_reply(kind: str):
    if kind == "throttle":
        return error(400, "Throttling.User", "Request was denied due to user flow control.")
    return error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")


def succeeded(reply) -> bool:
    body = reply.body if isinstance(reply.body, dict) else {}
    return reply.status == 200 and (body.get("Code") or body.get("ResponseCode")) == "OK"


def params_of(request) -> dict[str, str]:
    return {**request.query_params(), **request.form_params()}


def operation(request) -> str:
    return request.headers.get("x-acs-action") or params_of(request).get("Action") or "unknown"


def _fresh(stamp: str) -> bool:
    try:
        when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return False
    return abs(now() - when) <= TIMESTAMP_WINDOW


def _check_key(state: SimulatorState, key_id: str, stamp: str, nonce: str):
    """(secret, None) or (None, error reply) for the common checks of both signature versions."""
    secret = state.credentials["aliyun"].get(key_id or "")
    if secret is None:
        return None, error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if not _fresh(stamp):
        return None, error(400, "InvalidTimeStamp.Expired", f"Specified time stamp or date value is expired: {stamp}")
    if not nonce or not state.use_nonce(f"aliyun:{nonce}"):
        return None, error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    return secret, None


def _mismatch():
    return error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")


def verify_acs3(state: SimulatorState, request):
    auth = signing.parse_authorization(request.headers.get("Authorization") or "", signing.ACS3)
    if not auth:
        return error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
    signed_names = auth["SignedHeaders"].split(";")
    if not {"x-acs-action", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"} <= set(signed_names):
        return error(400, "IncompleteSignature", "SignedHeaders must include host and the x-acs-* headers.")
    secret, problem = _check_key(
        state, auth["Credential"], request.headers.get("x-acs-date"), request.headers.get("x-acs-signature-nonce")
    )
    if problem:
        return problem
    payload_hash = request.headers.get("x-acs-content-sha256") or ""
    if payload_hash != signing.sha256_hex(request.body):
        return _mismatch()
    # Repeated headers merge the provider's way: values sorted and comma-joined.
    merged = {n: ",".join(sorted(v.strip() for v in request.headers.get_all(n) or [""])) for n in signed_names}
    signature, _ = signing.acs3_signature(
        method=request.method, path=request.path, query=request.query_params(), headers=merged,
        payload_hash=payload_hash, secret=secret,
    )  # fmt: skip
    return None if hmac.compare_digest(signature, auth["Signature"]) else _mismatch()


def verify_rpc(state: SimulatorState, request, params: dict):
    for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "SignatureMethod", "SignatureVersion"):
        if not params.get(name):
            return error(400, f"Missing{name}", f"{name} is mandatory for this action.")
    if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
        return error(400, "InvalidSignatureMethod", "SignatureMethod must be HMAC-SHA1 with SignatureVersion 1.0.")
    secret, problem = _check_key(state, params["AccessKeyId"], params["Timestamp"], params["SignatureNonce"])
    if problem:
        return problem
    expected = signing.rpc_signature(params, request.method, secret)
    return None if hmac.compare_digest(expected, params["Signature"]) else _mismatch()


def handle(state: SimulatorState, request):
    params = params_of(request)
    if (request.headers.get("Authorization") or "").startswith(signing.ACS3):
        action, version = request.headers.get("x-acs-action"), request.headers.get("x-acs-version")
        problem = verify_acs3(state, request)
    else:
        action, version = params.get("Action"), params.get("Version")
        problem = verify_rpc(state, request, params)
    if problem:
        return problem
    state.count_signature("aliyun", "acs3" if "Signature" not in params else "rpc_v1")
    if version not in (V2017, V2018):
        return error(400, "InvalidVersion", f"Specified parameter Version is not valid: {version}")
    handler = OPERATIONS.get((action, version))
    if handler is None:
        return error(404, "InvalidAction.NotFound", f"Specified api {action} is not found for version {version}.")
    return handler(state, params)


def _missing(params: dict, *names: str):
    for name in names:
        if params.get(name, "") == "":
            return error(400, f"Missing{name}", f"{name} is mandatory for this action.")
    return None


def _invalid(message: str, version: str = V2017):
    return business_error("isv.INVALID_PARAMETERS", message, version)


def send_sms(state: SimulatorState, params: dict):
    if problem := _missing(params, "PhoneNumbers", "SignName", "TemplateCode"):
        return problem
    numbers = params["PhoneNumbers"].split(",")
    if len(numbers) > 1000:
        return business_error("isv.MOBILE_COUNT_OVER_LIMIT", "PhoneNumbers has more than 1000 numbers.")
    if not all(n.strip().lstrip("+").isdigit() for n in numbers):
        return business_error("isv.MOBILE_NUMBER_ILLEGAL", "PhoneNumbers contains an invalid number.")
    try:
        template_params = json.loads(params.get("TemplateParam") or "{}")
    except ValueError:
        return business_error("isv.INVALID_JSON_PARAM", "TemplateParam is not valid JSON.")
    template = state.template("aliyun", params["TemplateCode"])
    if template is not None and template.status != "approved":
        return business_error("isv.SMS_TEMPLATE_ILLEGAL", "The template is not approved.")
    biz_id = state.new_message_id("aliyun")
    content = template.content if template else ""
    for key, value in template_params.items():
        content = content.replace(f"${{{key}}}", str(value))
    for number in numbers:
        state.add_message(
            Message("aliyun", biz_id, e164(number, mainland_default=True), now(), template_code=params["TemplateCode"],
                    content=content, out_id=params.get("OutId", ""))
        )  # fmt: skip
    return ok(BizId=biz_id)


def query_send_details(state: SimulatorState, params: dict):
    if problem := _missing(params, "PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
        return problem
    size, page = as_int(params["PageSize"]), as_int(params["CurrentPage"])
    if size is None or not 1 <= size <= 50:
        return _invalid("PageSize must be between 1 and 50.")
    if page is None or page < 1:
        return _invalid("CurrentPage must be 1 or more.")
    try:
        day = datetime.strptime(params["SendDate"], "%Y%m%d").date()
    except ValueError:
        return _invalid("SendDate must be a date in the format yyyyMMdd.")
    today = now().astimezone(CHINA_TIME).date()
    if not today - timedelta(days=29) <= day <= today:
        return _invalid("SendDate must be within the last 30 days.")
    phone = e164(params["PhoneNumber"], mainland_default=True)
    rows = [
        m
        for m in state.messages_to("aliyun", phone)
        if m.sent_at.astimezone(CHINA_TIME).date() == day and params.get("BizId", m.message_id) == m.message_id
    ]
    chunk = rows[(page - 1) * size : page * size]
    dtos = [_detail(m) for m in chunk]
    return ok(TotalCount=str(len(rows)), SmsSendDetailDTOs={"SmsSendDetailDTO": dtos})


def _china(value: datetime | None) -> str:
    # isoformat, not strftime: glibc's %Y writes year 1 as "1", where Alibaba would write "0001".
    return value.astimezone(CHINA_TIME).isoformat(sep=" ", timespec="seconds")[:19] if value else ""


def _detail(m: Message) -> dict:
    return {
        "PhoneNum": m.phone.lstrip("+").removeprefix("86") if m.phone.startswith("+86") else m.phone.lstrip("+"),
        "SendStatus": SEND_STATUS[m.delivery],
        "ErrCode": {"delivered": "DELIVERED", "pending": ""}.get(m.delivery, m.error_code),
        "TemplateCode": m.template_code,
        "Content": m.content,
        "SendDate": _china(m.sent_at),
        "ReceiveDate": _china(m.received_at) if m.delivery == "delivered" else "",
        "OutId": m.out_id,
    }


def _conversion(state: SimulatorState, params: dict, version: str):
    action = "SmsConversion" if version == V2018 else "SmsConversionIntl"
    if problem := _missing(params, "MessageId", "Delivered"):
        return problem
    delivered = params["Delivered"].lower()  # booleans are parsed the Java way: "True" is true
    if delivered not in ("true", "false"):
        return _invalid("Delivered must be true or false.", version)
    message = state.message("aliyun", params["MessageId"])
    if message is None:
        return _invalid(f"MessageId {params['MessageId']} does not exist.", version)
    millis = as_int(params.get("ConversionTime") or int(now().timestamp() * 1000))
    if millis is None:
        return _invalid("ConversionTime must be a UNIX timestamp in milliseconds.", version)
    when = datetime.fromtimestamp(millis / 1000, UTC)
    if when <= message.sent_at or when > now() + CLOCK_SKEW:
        return _invalid("ConversionTime must be after the send time and before now.", version)
    if version == V2018 and params.get("To") and e164(params["To"], mainland_default=True) != message.phone:
        return _invalid("To does not match the recipient of MessageId.", version)
    state.record_conversion(
        "aliyun", message.message_id, api=action, converted=delivered == "true", time=when.isoformat()
    )
    if version == V2018:
        return _reply(200, {"ResponseCode": "OK", "ResponseDescription": "OK"})
    return ok()


def _template_fields(params: dict, *, current: bool):
    required = ("TemplateType", "TemplateName", "TemplateContent") + (() if current else ("Remark",))
    if problem := _missing(params, *required):
        return None, problem
    type_ = as_int(params["TemplateType"])
    if type_ not in (0, 1, 2, 3):
        return None, _invalid("TemplateType must be 0, 1, 2 or 3.")
    remark = params.get("Remark", "")
    for name, value, limit in (
        ("TemplateName", params["TemplateName"], 30),
        ("TemplateContent", params["TemplateContent"], 500),
        ("Remark", remark, 100),
    ):
        if len(value) > limit:
            return None, business_error("isv.PARAM_LENGTH_LIMIT", f"{name} must be at most {limit} characters.")
    fields = dict(name=params["TemplateName"], content=params["TemplateContent"], type=type_, remark=remark)
    return fields, None


def _create_fields(params: dict, type_: int):
    """CreateSmsTemplate's conditional parameters: (IntlType or None, None) or (None, error reply)."""
    if type_ in SIGNED_TYPES and not params.get("RelatedSignName"):
        return None, _invalid("RelatedSignName is required when TemplateType is 0, 1 or 2.")
    intl_type = as_int(params.get("IntlType"))
    if type_ == 3 and intl_type not in INTL_TYPES:
        return None, _invalid("IntlType must be 0, 1 or 2 when TemplateType is 3.")
    variables = set(VARIABLE_RE.findall(params["TemplateContent"]))
    if not variables:
        return intl_type, None
    if not params.get("TemplateRule"):
        return None, _invalid("TemplateRule is required when TemplateContent has variables.")
    try:
        rules = json.loads(params["TemplateRule"])
    except ValueError:
        return None, business_error("isv.INVALID_JSON_PARAM", "TemplateRule is not valid JSON.")
    if not isinstance(rules, dict) or set(rules) != variables:
        return None, _invalid("TemplateRule must give a rule for each variable of TemplateContent.")
    if unknown := sorted(str(r) for r in rules.values() if r not in TEMPLATE_RULES):
        return None, _invalid(f"TemplateRule has an unknown variable rule: {unknown[0]}.")
    return intl_type, None


def add_template(state: SimulatorState, params: dict, *, current: bool = False):
    fields, problem = _template_fields(params, current=current)
    if problem:
        return problem
    intl_type = None
    if current:
        intl_type, problem = _create_fields(params, fields["type"])
        if problem:
            return problem
    template = state.submit_template("aliyun", international=int(fields["type"] == 3), intl_type=intl_type, **fields)
    if current:
        return ok(TemplateCode=template.code, OrderId=str(20000000 + int(template.code[-6:])))
    return ok(TemplateCode=template.code)


def query_template(state: SimulatorState, params: dict, *, current: bool = False):
    if problem := _missing(params, "TemplateCode"):
        return problem
    template = state.template("aliyun", params["TemplateCode"])
    if template is None:
        return business_error("isv.SMS_TEMPLATE_ILLEGAL", f"TemplateCode {params['TemplateCode']} does not exist.")
    status = STATUS_CODES[template.status]
    common = dict(
        TemplateCode=template.code,
        TemplateName=template.name,
        TemplateContent=template.content,
        CreateDate=_china(template.created_at),
    )
    if current:
        audit = {"RejectInfo": template.reason, "AuditDate": _china(now())} if status == 2 else {}
        return ok(**common, TemplateType=str(template.type), TemplateStatus=str(status), AuditInfo=audit, TemplateTag=2)
    reason = template.reason if status == 2 else "No review remarks"
    return ok(**common, TemplateType=template.type, TemplateStatus=status, Reason=reason)


OPERATIONS = {
    ("SendSms", V2017): send_sms,
    ("QuerySendDetails", V2017): query_send_details,
    ("SmsConversionIntl", V2017): lambda s, p: _conversion(s, p, V2017),
    ("SmsConversion", V2018): lambda s, p: _conversion(s, p, V2018),
    ("AddSmsTemplate", V2017): add_template,
    ("QuerySmsTemplate", V2017): query_template,
    ("CreateSmsTemplate", V2017): lambda s, p: add_template(s, p, current=True),
    ("GetSmsTemplate", V2017): lambda s, p: query_template(s, p, current=True),
}
