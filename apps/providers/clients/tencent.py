"""Tencent Cloud SMS, API 3.0 version 2021-01-11: POST JSON to /, signed TC3-HMAC-SHA256."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime

from apps.providers.clients import signing, transport
from apps.providers.clients.base import (
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

VERSION = "2021-01-11"
SERVICE = "sms"
# The hosts an account's keys may be sent to (endpoints.py): the nearby-region host (the SDK's
# default, tencentcloud/sms/v20210111/sms_client.py), the international site's (the intl-en SDK's
# default; seed: "Domain name for API request: sms.intl.tencentcloudapi.com") and the regional hosts
# of the SMS request structure page (tencentcloud.com/document/api/382/40465).
ENDPOINT_HOSTS = frozenset(
    {"sms.tencentcloudapi.com", "sms.intl.tencentcloudapi.com"}
    | {
        f"sms.{region}.tencentcloudapi.com"
        for region in (
            "ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-chengdu", "ap-chongqing", "ap-hongkong", "ap-singapore"
        )
    }
)  # fmt: skip
CONTENT_TYPE = "application/json"
MAX_PULL = 100
PULL_DAYS = 7  # PullSmsSendStatusByPhoneNumber: BeginTime at most the last 7 days
PULL_MARGIN = 60  # seconds inside that limit, for the clock difference with Tencent
DAY = 86400
# AddSmsTemplate SmsType, tencentcloud-sdk-python-sms tencentcloud/sms/v20210111/models.py
# (AddSmsTemplateRequest): 1 marketing, 2 notification, 3 verification code, the types since 2024-05-16;
# an international template is filed by its kind, with International=1.
SMS_TYPES = {"promotional": 1, "notification": 2, "verification": 3}
REVIEW_STATES = {0: ReviewState.APPROVED, 1: ReviewState.REVIEWING, 2: ReviewState.APPROVED_PENDING}
VARIABLE_RE = re.compile(r"\$\{([^{}]*)\}")
NOT_ALLOWLISTED = (
    "Conversion reporting is not enabled for this Tencent application: Tencent reports conversions only for "
    "allowlisted SmsSdkAppIds (ask Tencent SMS Helper, then tick 'conversion reporting enabled')."
)

# Error codes by what a retry can do, from their documented meanings: the comment above each constant
# in the SDK's tencentcloud/sms/v20210111/errorcodes.py (TencentCloud/tencentcloud-sdk-python@bf29717)
# and the common codes (https://www.tencentcloud.com/document/product/1140/51177). Exact codes first,
# where a family mixes what a retry fixes with what it cannot; then the prefixes.
CODE_KINDS = {
    # "Server time differs from Tencent's by more than 10 minutes": only the operator's clock fixes it.
    "InternalError.RequestTimeException": ErrorKind.AUTH,
    # "No Sig field in the request" / "Sig verification failed": the signature, not the moment.
    "InternalError.SigFieldMissing": ErrorKind.AUTH,
    "InternalError.SigVerificationFail": ErrorKind.AUTH,
    # "Failed to parse the user's parameters" / "no such REST API interface": the request itself.
    "InternalError.JsonParseFail": ErrorKind.INVALID,
    "InternalError.RestApiInterfaceNotExist": ErrorKind.INVALID,
    # "Other error: contact SMS Helper with the failing number": a support case, not a blip.
    "InternalError.OtherError": ErrorKind.INVALID,
    # The other InternalErrors stay transient (prefix below): Timeout ("sending timed out", error
    # 60008), SendAndRecvFail ("interface timeout, check your network"), ParseBackendResponseFail (a
    # carrier's answer could not be read), UnknownError.
    # Per-number 30-second window and the international sending rate: a later try gets through.
    "LimitExceeded.PhoneNumberThirtySecondLimit": ErrorKind.THROTTLED,
    "LimitExceeded.GlobalSmsSendingRateLimit": ErrorKind.THROTTLED,
    # "Country/region not in the app's allowed list", set in the console: the operator must allow it.
    "LimitExceeded.AppCountryOrRegionInBlacklist": ErrorKind.AUTH,
}
AUTH_PREFIXES = ("AuthFailure", "UnauthorizedOperation", "FailedOperation.ProhibitSubAccountUse")
# RequestLimitExceeded*: API call frequency (common codes). The other LimitExceeded.* are daily,
# hourly, same-content or console-policy caps (DeliveryFrequencyLimit: "hit the frequency limit
# policy", window not given) and more than 200 numbers per call: a retry within minutes meets the same
# cap, so they fall through to INVALID.
THROTTLE_PREFIXES = ("RequestLimitExceeded",)
TRANSIENT_PREFIXES = ("InternalError", "ServiceUnavailable", "ResourceUnavailable")


def classify(code: str) -> ErrorKind:
    if code in CODE_KINDS:
        return CODE_KINDS[code]
    if code.startswith(AUTH_PREFIXES):
        return ErrorKind.AUTH
    if code.startswith(THROTTLE_PREFIXES):
        return ErrorKind.THROTTLED
    if code.startswith(TRANSIENT_PREFIXES):
        return ErrorKind.TRANSIENT
    return ErrorKind.INVALID


def _midnight(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def numbered_placeholders(content: str) -> str:
    """${code} style variables become Tencent's {1}, {2}... in order of first appearance."""
    order: dict[str, int] = {}
    return VARIABLE_RE.sub(lambda m: f"{{{order.setdefault(m.group(1), len(order) + 1)}}}", content)


class TencentClient(ProviderClient):
    provider = "tencent"
    label = "Tencent Cloud"
    default_endpoint = "https://sms.tencentcloudapi.com"
    endpoint_hosts = ENDPOINT_HOSTS
    delivery_range_days = PULL_DAYS  # one pull covers a phone's last 7 days (BeginTime to EndTime)

    def signed_request(self, action: str, payload: dict) -> tuple[dict, bytes]:
        """(headers, body) of the signed POST / for one action."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(time.time())
        date = signing.tc3_date(timestamp)
        headers = {
            "Host": transport.host_of(self.endpoint),
            "Content-Type": CONTENT_TYPE,
            "X-TC-Action": action,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.account.region or "ap-guangzhou",
            "User-Agent": transport.USER_AGENT,
        }
        string_to_sign = signing.tc3_string_to_sign(
            method="POST", query="", headers=headers, signed_headers="content-type;host", payload=body,
            timestamp=timestamp, service=SERVICE,
        )  # fmt: skip
        signature = signing.tc3_signature(self.account.key_secret, date, SERVICE, string_to_sign)
        headers["Authorization"] = signing.tc3_authorization(
            self.account.key_id, date, SERVICE, "content-type;host", signature
        )
        return headers, body

    def call(self, action: str, payload: dict) -> dict:
        """One signed call; answers the Response object, raises ProviderError on an Error in it."""
        headers, body = self.signed_request(action, payload)
        response = transport.send(self, "POST", self.endpoint + "/", data=body, headers=headers)
        data = transport.json_body(self, response).get("Response")
        if not isinstance(data, dict):
            raise ProviderError(ErrorKind.TRANSIENT, "Tencent answered without a Response", provider="tencent")
        if data.get("Error"):
            raise self._error(data["Error"], data.get("RequestId", ""))
        return data

    @staticmethod
    def _error(status: dict, request_id: str) -> ProviderError:
        code = str(status.get("Code", ""))
        message = status.get("Message") or code
        return ProviderError(classify(code), message, code=code, request_id=request_id, provider="tencent")

    def send_sms(self, request: SendRequest) -> SendResult:
        data = self.call(
            "SendSms",
            {
                "PhoneNumberSet": [request.phone],
                "SmsSdkAppId": self.account.sdk_app_id,
                "TemplateId": request.template_code,
                "SignName": request.sign_name,
                "TemplateParamSet": [str(v) for v in request.params.values()],
                "SessionContext": request.out_id,
            },
        )
        status = (data.get("SendStatusSet") or [{}])[0]
        if str(status.get("Code", "")).lower() != "ok":
            raise self._error(status, data["RequestId"])
        return SendResult(message_id=status["SerialNo"], request_id=data["RequestId"])

    def report_conversion(self, report: ConversionReport) -> ReportResult:
        if not self.account.conversion_allowlisted:
            raise ProviderError(ErrorKind.UNSUPPORTED, NOT_ALLOWLISTED, provider="tencent")
        payload = {
            "SmsSdkAppId": self.account.sdk_app_id,
            "SerialNo": report.message_id,
            "ConversionTime": int(report.converted_at.timestamp()),
        }
        data = self.call("ReportConversion", payload)
        status = data.get("ReportConversionStatus") or {}
        # The docs show both "ok" and "OK".
        if str(status.get("Code", "")).lower() != "ok":
            raise self._error(status, data["RequestId"])
        return ReportResult(request_id=data["RequestId"])

    def delivery_status(self, query: DeliveryQuery) -> DeliveryPage:
        # Offset is fixed at 0 by Tencent: later pages move BeginTime past the last receipt seen.
        begin = int(query.cursor) if query.cursor else self._pull_begin(query)
        limit = min(query.page_size, MAX_PULL)
        data = self.call(
            "PullSmsSendStatusByPhoneNumber",
            {
                "BeginTime": begin,
                "EndTime": self._pull_end(query, begin),
                "Offset": 0,
                "Limit": limit,
                "PhoneNumber": query.phone,
                "SmsSdkAppId": self.account.sdk_app_id,
            },
        )
        rows = data.get("PullSmsSendStatusSet") or []
        records = [self._record(row) for row in rows]
        if query.message_id:
            records = [r for r in records if r.message_id == query.message_id]
        has_more = len(rows) >= limit
        # Past the last receipt's second: re-reading it would cost a row of every page (more calls).
        # The price: a receipt sharing that second but cut off by Limit is not seen (>100 a week).
        cursor = str(max(int(r.get("UserReceiveTime") or begin) for r in rows) + 1) if has_more else ""
        return DeliveryPage(
            records, page=query.page, total=None, has_more=has_more, request_id=data["RequestId"], next_cursor=cursor
        )

    @staticmethod
    def _pull_begin(query: DeliveryQuery) -> int:
        """BeginTime of a query's first page: midnight (UTC) of its send date."""
        begin = _midnight(query.day)
        if query.until is not None:
            # A range asks for all Tencent still keeps from `day`: a run going past midnight may
            # find `day` just beyond the 7 days, so it starts at the limit rather than be refused.
            begin = max(begin, int(time.time()) - PULL_DAYS * DAY + PULL_MARGIN)
        return begin

    @staticmethod
    def _pull_end(query: DeliveryQuery, begin: int) -> int:
        """A receipt comes after its send: up to a day past the last send date, and not past now."""
        last = query.until or query.day
        if last < query.day:
            raise ValueError(f"DeliveryQuery.until ({last}) is before day ({query.day})")
        return max(min(_midnight(last) + 2 * DAY, int(time.time())), begin)

    @staticmethod
    def _record(row: dict) -> DeliveryRecord:
        ok = row.get("ReportStatus") == "SUCCESS"
        received = row.get("UserReceiveTime")
        return DeliveryRecord(
            message_id=row.get("SerialNo", ""),
            phone=row.get("PhoneNumber", ""),
            state=DeliveryState.DELIVERED if ok else DeliveryState.FAILED,
            error_code="" if ok else (row.get("Description") or "FAIL"),
            received_at=datetime.fromtimestamp(int(received), UTC) if received else None,
            out_id=row.get("SessionContext") or "",
        )

    @staticmethod
    def template_request(submission: TemplateSubmission) -> dict:
        """AddSmsTemplate's parameters for the submission."""
        international = submission.international or submission.type == "international"
        return {
            "TemplateName": submission.name,
            "TemplateContent": numbered_placeholders(submission.content),
            "SmsType": SMS_TYPES.get(submission.type),
            "International": 1 if international else 0,
            "Remark": submission.remark,
        }

    def submit_template(self, submission: TemplateSubmission) -> SubmitResult:
        data = self.call("AddSmsTemplate", self.template_request(submission))
        template_id = str((data.get("AddTemplateStatus") or {}).get("TemplateId", ""))
        return SubmitResult(template_code=template_id, request_id=data["RequestId"])

    def template_status(self, template_code: str) -> TemplateReview:
        if not template_code.isdigit():
            raise ProviderError(
                ErrorKind.INVALID, f"TemplateId must be a number, not {template_code!r}", provider="tencent"
            )
        data: dict = {}
        for international in (0, 1):  # the list is per site; a template lives on one of them
            data = self.call(
                "DescribeSmsTemplateList", {"International": international, "TemplateIdSet": [int(template_code)]}
            )
            for row in data.get("DescribeTemplateStatusSet") or []:
                if str(row.get("TemplateId")) == template_code:
                    state = REVIEW_STATES.get(int(row.get("StatusCode", 1)), ReviewState.REJECTED)
                    reason = (row.get("ReviewReply") or "") if state == ReviewState.REJECTED else ""
                    return TemplateReview(template_code, state=state, reason=reason, request_id=data["RequestId"])
        raise ProviderError(
            ErrorKind.INVALID,
            f"TemplateId {template_code} does not exist on this account",
            code="FailedOperation.TemplateIdNotExist",
            request_id=data.get("RequestId", ""),
            provider="tencent",
        )
