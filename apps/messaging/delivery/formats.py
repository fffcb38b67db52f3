"""The providers' delivery-receipt callbacks, read into DeliveryRecords, and Plivo's V3 signature.

Wire details in ../shared/PROVIDERS.md: Alibaba SmsReport (A.6), Tencent status callback (B.5), Plivo
message status callback and signature V3 (C.4, C.5). Alibaba and Tencent stamp times in China
Standard Time without an offset; Plivo's callback times are UTC. Alibaba's international SmsReport
has its own shape (To, Status, MessageId, SendDate and ReceiveDate as 'Thu, 25 Nov 2021 10:27:00
+0800'); both shapes are read, in one body or apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from apps.messaging.delivery import screening
from apps.providers.clients import aliyun, plivo
from apps.providers.clients.base import DeliveryRecord, DeliveryState

CHINA = ZoneInfo("Asia/Shanghai")

NOT_JSON_ARRAY = "The body must be a JSON array of receipts."
NOT_AN_OBJECT = "Receipt {index} must be a JSON object."
FIELD_MISSING = "Receipt {index}: the field {field} is required."
NOT_TEXT = "Receipt {index}: {field} must be a string."
FIELD_RULE = "Receipt {index}: {field}: {rule}"
BAD_TIME = "Receipt {index}: {field} must look like 2026-11-23 08:03:04."
BAD_INTL_TIME = "Receipt {index}: {field} must look like Thu, 25 Nov 2021 10:27:00 +0800."
PLIVO_FIELD_MISSING = "The field {field} is required."
PLIVO_FIELD_RULE = "{field}: {rule}"
PLIVO_BAD_TIME = "DeliveryReportTime must look like 2026-11-23 08:03:04.123456."


class ReceiptFormatError(ValueError):
    """The callback is not what the provider sends; the message names the field and the rule."""


def _array(body: bytes, *, lone_key: str = "") -> list[dict]:
    """The body's receipts; a lone object holding lone_key counts as one receipt."""
    try:
        items = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: a body nested deeper than the parser goes is no receipt either.
        raise ReceiptFormatError(NOT_JSON_ARRAY) from None
    if lone_key and isinstance(items, dict) and lone_key in items:
        items = [items]
    if not isinstance(items, list):
        raise ReceiptFormatError(NOT_JSON_ARRAY)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReceiptFormatError(NOT_AN_OBJECT.format(index=index))
    return items


def _text(item: dict, index: int, field: str, rule=screening.code_rule, *, required: bool = False) -> str:
    """A receipt's text field, checked by rule (screening.py); numbers are taken as their digits."""
    value = item.get(field)
    if value in (None, ""):
        if required:
            raise ReceiptFormatError(FIELD_MISSING.format(index=index, field=field))
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ReceiptFormatError(NOT_TEXT.format(index=index, field=field))
    text = str(value).strip()
    broken = rule(text)
    if broken:
        raise ReceiptFormatError(FIELD_RULE.format(index=index, field=field, rule=broken))
    return text


def _time(value: str, zone) -> datetime | None:
    """A provider's time, or None when it has none. Not checked against the input window here:
    delivery_apply drops a time outside it and keeps the receipt (screening.py)."""
    if not value:
        return None
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ValueError(value)


def _receipt_time(item: dict, index: int, field: str, zone) -> datetime | None:
    try:
        return _time(_text(item, index, field), zone)
    except ValueError:
        raise ReceiptFormatError(BAD_TIME.format(index=index, field=field)) from None


def _phone(number: str, index: int, field: str) -> str:
    broken = screening.phone_rule(number)
    if broken:
        raise ReceiptFormatError(FIELD_RULE.format(index=index, field=field, rule=broken))
    return number


def parse_tencent(body: bytes) -> list[DeliveryRecord]:
    records = []
    for i, item in enumerate(_array(body)):
        success = _text(item, i, "report_status", required=True).upper() == "SUCCESS"
        phone = _text(item, i, "mobile", screening.phone_rule, required=True)
        code = _text(item, i, "nationcode", screening.phone_rule)
        records.append(
            DeliveryRecord(
                message_id=_text(item, i, "sid", screening.id_rule, required=True),
                phone=_phone(phone if phone.startswith("+") else f"+{code}{phone}", i, "mobile"),
                state=DeliveryState.DELIVERED if success else DeliveryState.FAILED,
                error_code=_text(item, i, "errmsg"),
                received_at=_receipt_time(item, i, "user_receive_time", CHINA),
            )
        )
    return records


DOMESTIC_KEYS = ("success", "biz_id", "phone_number")
INTL_KEYS = ("MessageId", "To", "Status")


def parse_aliyun(body: bytes) -> list[DeliveryRecord]:
    # The international receipt is documented as one object (its MNS message body); HTTP batch push
    # sends arrays. Each receipt is read by its own shape.
    records = []
    for i, item in enumerate(_array(body, lone_key="MessageId")):
        international = not any(k in item for k in DOMESTIC_KEYS) and any(k in item for k in INTL_KEYS)
        records.append(_aliyun_international(item, i) if international else _aliyun_domestic(item, i))
    return records


def _aliyun_domestic(item: dict, i: int) -> DeliveryRecord:
    if "success" not in item:
        raise ReceiptFormatError(FIELD_MISSING.format(index=i, field="success"))
    success = item["success"] in (True, "true", "True", 1)
    phone = _text(item, i, "phone_number", screening.phone_rule, required=True)
    return DeliveryRecord(
        message_id=_text(item, i, "biz_id", screening.id_rule, required=True),
        phone=_phone(aliyun.reported_phone(phone), i, "phone_number"),
        state=DeliveryState.DELIVERED if success else DeliveryState.FAILED,
        error_code=_text(item, i, "err_code"),
        received_at=_receipt_time(item, i, "report_time", CHINA),
        sent_at=_receipt_time(item, i, "send_time", CHINA),
        out_id=_text(item, i, "out_id", screening.id_rule),
    )


def _aliyun_international(item: dict, i: int) -> DeliveryRecord:
    state = aliyun.INTL_REPORT_STATES.get(_text(item, i, "Status", required=True), DeliveryState.PENDING)
    # To is country code + number, mainland ones too (86134235****): never prefixed here.
    phone = _text(item, i, "To", screening.phone_rule, required=True)
    error_code = _text(item, i, "ErrorCode")  # "success" on a delivered message: not an error
    return DeliveryRecord(
        message_id=_text(item, i, "MessageId", screening.id_rule, required=True),
        phone=_phone("+" + phone.lstrip("+"), i, "To"),
        state=state,
        error_code="" if state == DeliveryState.DELIVERED else error_code,
        received_at=_intl_time(item, i, "ReceiveDate"),
        sent_at=_intl_time(item, i, "SendDate"),
    )


def _intl_time(item: dict, index: int, field: str) -> datetime | None:
    """'Thu, 25 Nov 2021 10:27:00 +0800' (RFC 2822, as documented); without an offset, China time."""
    value = _text(item, index, field)
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, OverflowError, IndexError):
        raise ReceiptFormatError(BAD_INTL_TIME.format(index=index, field=field)) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)


PLIVO_RULES = {
    "MessageUUID": screening.id_rule,
    "Status": screening.code_rule,
    "To": screening.phone_rule,
    "ErrorCode": screening.code_rule,
    "DeliveryReportTime": screening.code_rule,
}


def parse_plivo(params: dict[str, str]) -> DeliveryRecord:
    for field in ("MessageUUID", "Status"):
        if not params.get(field):
            raise ReceiptFormatError(PLIVO_FIELD_MISSING.format(field=field))
    item = {field: params.get(field, "").strip() for field in PLIVO_RULES}
    for field, rule in PLIVO_RULES.items():
        if broken := rule(item[field]):
            raise ReceiptFormatError(PLIVO_FIELD_RULE.format(field=field, rule=broken))
    to = item["To"]
    phone = to if to.startswith("+") or not to else f"+{to}"
    if broken := screening.phone_rule(phone):
        raise ReceiptFormatError(PLIVO_FIELD_RULE.format(field="To", rule=broken))
    try:
        received_at = _time(item["DeliveryReportTime"], UTC)
    except ValueError:
        raise ReceiptFormatError(PLIVO_BAD_TIME) from None
    return DeliveryRecord(
        message_id=item["MessageUUID"],
        phone=phone,
        state=plivo.STATES.get(item["Status"].lower(), DeliveryState.PENDING),
        error_code=item["ErrorCode"],
        received_at=received_at,
    )


def plivo_v3_base(method: str, uri: str, params: dict[str, list[str]]) -> str:
    """What Plivo signs (SDK plivo/utils/signature_v3.py): the URL without its query, the query
    sorted, then for POST the form fields sorted and concatenated as key+value."""
    parts = urlsplit(uri)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    query = {k: list(v) for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    if method.upper() == "GET":
        for key, values in params.items():
            query[key] = list(values)
        sorted_query = _sorted_query(query)
        return f"{base}?{sorted_query}" if sorted_query else base
    sorted_query = _sorted_query(query)
    if not params:
        return f"{base}?{sorted_query}" if sorted_query else base
    body = "".join(key + value for key in sorted(params) for value in sorted(params[key]))
    return f"{base}?{sorted_query}.{body}" if sorted_query else f"{base}?{body}"


def _sorted_query(query: dict[str, list[str]]) -> str:
    return "&".join(f"{key}={value}" for key in sorted(query) for value in sorted(query[key]))


def plivo_v3_signature(*, base: str, nonce: str, auth_token: str) -> str:
    digest = hmac.new(auth_token.encode(), f"{base}.{nonce}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def plivo_v3_valid(*, method: str, uri: str, params: dict[str, list[str]], nonce: str, auth_token: str, header: str):
    expected = plivo_v3_signature(base=plivo_v3_base(method, uri, params), nonce=nonce, auth_token=auth_token)
    # compare_digest refuses str with non-ASCII characters (TypeError): such a candidate is no
    # base64 signature anyway.
    candidates = (candidate.strip() for candidate in header.split(","))
    return any(hmac.compare_digest(expected, c) for c in candidates if c and c.isascii())
