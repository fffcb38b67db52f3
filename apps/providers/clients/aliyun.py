"""Alibaba Cloud SMS (Dysmsapi): 2017-05-25 on dysmsapi.aliyuncs.com, SmsConversion on the 2018-05-01
international API. RPC-style actions, signed ACS3-HMAC-SHA256 or RPC HMAC-SHA1 per account."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import quote

from apps.providers.clients import signing, transport
from apps.providers.clients.base import (
    ConversionOutcome,
    ConversionReport,
    DeliveryPage,
    DeliveryQuery,
    DeliveryRecord,
    DeliveryState,
    ErrorKind,
    ProviderClient,
    ProviderError,
    ReportResult,
    ReviewState,
    SendRequest,
    SendResult,
    SubmitResult,
    TemplateReview,
    TemplateSubmission,
)

VERSION = "2017-05-25"
INTL_VERSION = "2018-05-01"
INTL_REGIONS = {"ap-southeast-1", "ap-southeast-5", "eu-central-1"}
# The hosts an account's keys may be sent to (endpoints.py). The 2017-05-25 SDK's endpoint map
# (alibabacloud_dysmsapi20170525 4.6.0, client.py _endpoint_map: the China regions all on
# dysmsapi.aliyuncs.com, and its regional hosts) and the 2018-05-01 endpoint list
# (alibabacloud.com/help/en/sms/developer-reference/api-dysmsapi-2018-05-01-endpoint).
ENDPOINT_HOSTS = frozenset(
    {
        "dysmsapi.aliyuncs.com",
        "dysmsapi.ap-southeast-1.aliyuncs.com",  # Singapore
        "dysmsapi.ap-southeast-5.aliyuncs.com",  # Jakarta
        "dysmsapi.eu-central-1.aliyuncs.com",  # Frankfurt
        "dysmsapi.us-east-1.aliyuncs.com",  # Virginia
        "dysmsapi-proxy.cn-beijing.aliyuncs.com",
        "dysmsapi-xman.cn-hongkong.aliyuncs.com",
    }
)
CHINA_TIME = timezone(timedelta(hours=8), "CST")  # Alibaba files SendDate and times in China time (no DST)
# CreateSmsTemplate's fields follow the SDK's request model, alibabacloud_dysmsapi20170525
# models/_create_sms_template_request.py: TemplateType 0 verification, 1 notification, 2 promotional,
# 3 international; IntlType (required for 3) 0 notification, 1 promotional, 2 verification;
# RelatedSignName required for TemplateType 0, 1 and 2; TemplateRule required when there are variables.
TEMPLATE_TYPES = {"verification": 0, "notification": 1, "promotional": 2, "international": 3}
INTERNATIONAL_TYPE = 3
INTL_TYPES = {"notification": 0, "promotional": 1, "verification": 2}
SIGN_NAME_TYPES = ("verification", "notification", "promotional")
# TemplateRule names a rule per variable (help.aliyun.com/document_detail/2806243.html): numberCaptcha
# is a verification code of 4 to 6 digits (our codes); other_number2 the general "other number" rule.
CODE_RULE = "numberCaptcha"
OTHER_RULE = "other_number2"
VARIABLE_RE = re.compile(r"\$\{([^{}]*)\}")
SEND_STATES = {1: DeliveryState.PENDING, 2: DeliveryState.FAILED, 3: DeliveryState.DELIVERED}
REVIEW_STATES = {
    "0": ReviewState.REVIEWING,
    "1": ReviewState.APPROVED,
    "2": ReviewState.REJECTED,
    "10": ReviewState.CANCELLED,
}

AUTH_CODES = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "IncompleteSignature", "InvalidTimeStamp", "Forbidden")
AUTH_ISV = ("isp.RAM_PERMISSION_DENY", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL", "isv.OUT_OF_SERVICE")
AUTH_ISV += ("isv.AMOUNT_NOT_ENOUGH", "isv.PRODUCT_UN_SUBSCRIPT", "isv.PRODUCT_UNSUBSCRIBE", "isv.DENY_IP_RANGE")
# Gateway throttling (Throttling.User: API calls per second): the next second admits the call.
THROTTLE_CODES = ("Throttling",)
# Not retried (fall through to INVALID), per the error code list (help.aliyun.com/document_detail/101346.html,
# alibabacloud.com/help/en/sms/developer-reference/error-codes): isv.BUSINESS_LIMIT_CONTROL is the
# per-number sending frequency control (verification codes: 1 a minute, 5 an hour, 10 a day per
# number and signature; the fix is to send less or raise the thresholds in the console), which a
# retry within minutes meets again and which the code does not say which window tripped;
# isv.DAY_LIMIT_CONTROL and isv.MONTH_LIMIT_CONTROL are the daily and monthly caps set in the console.
TRANSIENT_CODES = ("isp.SYSTEM_ERROR", "InternalError", "ServiceUnavailable", "SignatureNonceUsed", "UnknownError")


def classify(code: str, status: int) -> ErrorKind:
    if code.startswith(AUTH_CODES) or code in AUTH_ISV:
        return ErrorKind.AUTH
    if code.startswith(THROTTLE_CODES):
        return ErrorKind.THROTTLED
    if code.startswith(TRANSIENT_CODES) or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.INVALID


# Chinese mainland mobile numbers: libphonenumber's CN mobile pattern (google/libphonenumber,
# resources/PhoneNumberMetadata.xml). [0-9], not \d, which matches any script's digits.
MAINLAND_MOBILE_RE = re.compile(r"1740[0-5][0-9]{6}|1(?:[38][0-9]|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])[0-9]{8}")
# International SmsReport Status (alibabacloud.com/help/en/sms/developer-reference/sms-webhook, the
# "SmsReport: MNS" page): 1 success, 2 failed, 6 expired. Strings in the docs' example.
INTL_REPORT_STATES = {"1": DeliveryState.DELIVERED, "2": DeliveryState.FAILED, "6": DeliveryState.FAILED}


def reported_phone(number: str) -> str:
    """E.164 of a domestic SmsReport's phone_number. Its docs call it the recipient's number and show
    11 mainland digits (1381111****); the number is as SendSms took it: mainland numbers as 11 digits,
    others as country code + number (SendSms PhoneNumbers). So only a mainland mobile number gets +86:
    14155552222 is +1 415 555 2222 (no mainland mobile starts 141), 13811112222 is +86."""
    digits = number.lstrip("+")
    if not number.startswith("+") and MAINLAND_MOBILE_RE.fullmatch(digits):
        return "+86" + digits
    return "+" + digits


def local_phone(e164: str) -> str:
    """Mainland numbers as 11 digits, others as country code + number without '+' (the docs' formats)."""
    digits = e164.lstrip("+")
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def template_rule(submission: TemplateSubmission) -> str:
    """TemplateRule: a JSON object of each ${variable}'s rule; empty when there is no variable."""
    rule = CODE_RULE if submission.type == "verification" else OTHER_RULE
    rules = {name: rule for name in VARIABLE_RE.findall(submission.content)}
    return json.dumps(rules, separators=(",", ":")) if rules else ""


def parse_time(value: str) -> datetime | None:
    if not value:
        return None
    # Left in China time: a placeholder such as 0001-01-01 00:00:00 has no UTC equivalent
    # (OverflowError). delivery_apply drops times outside the input window, converts the rest.
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME)


class AliyunClient(ProviderClient):
    provider = "aliyun"
    label = "Alibaba Cloud"
    default_endpoint = "https://dysmsapi.aliyuncs.com"
    endpoint_hosts = ENDPOINT_HOSTS

    @property
    def intl_endpoint(self) -> str:
        if self.account.endpoint:
            return self.endpoint
        region = self.account.region if self.account.region in INTL_REGIONS else "ap-southeast-1"
        return f"https://dysmsapi.{region}.aliyuncs.com"

    def signed_request(self, action: str, params: dict, *, version: str = VERSION, endpoint: str = "") -> tuple:
        """(url, headers) of the signed POST for one action: parameters in the query, empty body."""
        params = {k: str(v) for k, v in params.items() if v is not None and v != ""}
        base = (endpoint or self.endpoint).rstrip("/") + "/"
        if self.account.alibaba_signature == "rpc_v1":
            query, headers = self._sign_rpc(action, version, params), {}
        else:
            query, headers = params, self._sign_acs3(action, version, params, base)
        url = base + "?" + "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in query.items())
        return url, {**headers, "Accept": "application/json", "User-Agent": transport.USER_AGENT}

    def call(self, action: str, params: dict, *, version: str = VERSION, endpoint: str = "") -> dict:
        """One signed RPC-style call; answers the body of an OK response, raises ProviderError otherwise."""
        url, headers = self.signed_request(action, params, version=version, endpoint=endpoint)
        response = transport.send(self, "POST", url, headers=headers)
        body = transport.json_body(self, response)
        code = str(body.get("Code") or body.get("ResponseCode") or "")
        if response.status_code >= 400 or code != "OK":
            message = body.get("Message") or body.get("ResponseDescription") or f"HTTP {response.status_code}"
            kind = classify(code, response.status_code)
            raise ProviderError(kind, message, code=code, request_id=body.get("RequestId", ""), provider="aliyun")
        return body

    def _sign_rpc(self, action: str, version: str, params: dict) -> dict:
        query = {
            "Action": action,
            "Version": version,
            "Format": "JSON",
            "AccessKeyId": self.account.key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RegionId": self.account.region or "cn-hangzhou",
            **params,
        }
        query["Signature"] = signing.rpc_signature(query, "POST", self.account.key_secret)
        return query

    def _sign_acs3(self, action: str, version: str, params: dict, base: str) -> dict:
        headers = {
            "host": transport.host_of(base),  # what requests will send, also for http://127.0.0.1:port
            "x-acs-action": action,
            "x-acs-version": version,
            "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": signing.EMPTY_SHA256,
        }
        signature, signed = signing.acs3_signature(
            method="POST", path="/", query=params, headers=headers, payload_hash=signing.EMPTY_SHA256,
            secret=self.account.key_secret,
        )  # fmt: skip
        return {**headers, "Authorization": signing.acs3_authorization(self.account.key_id, signed, signature)}

    def send_day(self, sent_at: datetime) -> date:
        return sent_at.astimezone(CHINA_TIME).date()

    def send_sms(self, request: SendRequest) -> SendResult:
        params = {
            "PhoneNumbers": local_phone(request.phone),
            "SignName": request.sign_name,
            "TemplateCode": request.template_code,
            "TemplateParam": json.dumps(request.params, ensure_ascii=False) if request.params else "",
            "OutId": request.out_id,
        }
        body = self.call("SendSms", params)
        return SendResult(message_id=body.get("BizId", ""), request_id=body.get("RequestId", ""))

    def report_conversion(self, report: ConversionReport) -> ReportResult:
        params = {
            "MessageId": report.message_id,
            "Delivered": "true" if report.outcome == ConversionOutcome.CONVERTED else "false",
            "ConversionTime": int(report.converted_at.timestamp() * 1000),
        }
        if self.account.alibaba_conversion_api == "sms_conversion_intl":
            body = self.call("SmsConversionIntl", params)
        else:
            params["To"] = local_phone(report.phone)
            body = self.call("SmsConversion", params, version=INTL_VERSION, endpoint=self.intl_endpoint)
        return ReportResult(request_id=body.get("RequestId", ""))

    def delivery_status(self, query: DeliveryQuery) -> DeliveryPage:
        params = {
            "PhoneNumber": local_phone(query.phone),
            "SendDate": query.day.strftime("%Y%m%d"),
            "BizId": query.message_id,
            "PageSize": query.page_size,
            "CurrentPage": query.page,
        }
        body = self.call("QuerySendDetails", params)
        rows = (body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        records = [self._record(row, query) for row in rows]
        total = int(body.get("TotalCount") or 0)
        has_more = query.page * query.page_size < total and bool(rows)
        return DeliveryPage(records, page=query.page, total=total, has_more=has_more, request_id=body["RequestId"])

    @staticmethod
    def _record(row: dict, query: DeliveryQuery) -> DeliveryRecord:
        # QuerySendDetails rows carry no BizId; one phone's rows are told apart by OutId and send time.
        return DeliveryRecord(
            message_id=query.message_id,
            phone=query.phone,
            state=SEND_STATES.get(int(row.get("SendStatus") or 1), DeliveryState.PENDING),
            error_code=row.get("ErrCode") or "",
            received_at=parse_time(row.get("ReceiveDate", "")),
            sent_at=parse_time(row.get("SendDate", "")),
            template_code=row.get("TemplateCode") or "",
            out_id=row.get("OutId") or "",
            content=row.get("Content") or "",
        )

    @classmethod
    def template_needs_sign_name(cls, account, template_type: str) -> bool:
        return account.alibaba_template_api == "current" and template_type in SIGN_NAME_TYPES

    def template_request(self, submission: TemplateSubmission) -> tuple[str, dict]:
        """(action, parameters) of the submission for the account's template API."""
        international = submission.international or submission.type == "international"
        params = {
            "TemplateType": INTERNATIONAL_TYPE if international else TEMPLATE_TYPES[submission.type],
            "TemplateName": submission.name,
            "TemplateContent": submission.content,
            "Remark": submission.remark,
        }
        if self.account.alibaba_template_api != "current":
            return "AddSmsTemplate", params
        params.update(
            TemplateRule=template_rule(submission),
            RelatedSignName=submission.sign_name,
            IntlType=INTL_TYPES.get(submission.type) if international else None,
        )
        return "CreateSmsTemplate", params

    def submit_template(self, submission: TemplateSubmission) -> SubmitResult:
        body = self.call(*self.template_request(submission))
        return SubmitResult(template_code=body.get("TemplateCode", ""), request_id=body.get("RequestId", ""))

    def template_status(self, template_code: str) -> TemplateReview:
        if self.account.alibaba_template_api == "current":
            body = self.call("GetSmsTemplate", {"TemplateCode": template_code})
            reason = (body.get("AuditInfo") or {}).get("RejectInfo") or ""
        else:
            body = self.call("QuerySmsTemplate", {"TemplateCode": template_code})
            reason = body.get("Reason") or ""
        state = REVIEW_STATES.get(str(body.get("TemplateStatus")), ReviewState.REVIEWING)
        if state != ReviewState.REJECTED:
            reason = ""  # "No review remarks" is not a reason
        return TemplateReview(template_code, state=state, reason=reason, request_id=body.get("RequestId", ""))
