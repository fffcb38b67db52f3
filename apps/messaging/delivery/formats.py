"""The providers' delivery-receipt callbacks, read into DeliveryRecords, and Plivo's V3 signature.

Wire details in ../shared/PROVIDERS.md: Alibaba SmsReport (A.6), Tencent status callback (B.5), Plivo
message status callback and signature V3 (C.4, C.5). Alibaba and Tencent stamp times in China
Standard Time without an offset; Plivo's callback times are UTC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from apps.providers.clients import plivo
from apps.providers.clients.base import DeliveryRecord, DeliveryState

CHINA = ZoneInfo("Asia/Shanghai")

NOT_JSON_ARRAY = "The body must be a JSON array of receipts."
NOT_AN_OBJECT = "Receipt {index} must be a JSON object."
FIELD_MISSING = "Receipt {index}: the field {field} is required."
BAD_TIME = "Receipt {index}: {field} must look like 2026-11-23 08:03:04."
PLIVO_FIELD_MISSING = "The field {field} is required."


class ReceiptFormatError(ValueError):
    """The callback is not what the provider sends; the message names the field and the rule."""


def _array(body: bytes) -> list[dict]:
    try:
        items = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ReceiptFormatError(NOT_JSON_ARRAY) from None
    if not isinstance(items, list):
        raise ReceiptFormatError(NOT_JSON_ARRAY)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReceiptFormatError(NOT_AN_OBJECT.format(index=index))
    return items


def _text(item: dict, index: int, field: str, *, required: bool = False) -> str:
    value = item.get(field)
    if value in (None, ""):
        if required:
            raise ReceiptFormatError(FIELD_MISSING.format(index=index, field=field))
        return ""
    return str(value).strip()


def _time(value: str, index: int, field: str, zone) -> datetime | None:
    if not value:
        return None
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ReceiptFormatError(BAD_TIME.format(index=index, field=field))


def parse_tencent(body: bytes) -> list[DeliveryRecord]:
    records = []
    for i, item in enumerate(_array(body)):
        success = _text(item, i, "report_status", required=True).upper() == "SUCCESS"
        phone = _text(item, i, "mobile", required=True)
        code = _text(item, i, "nationcode")
        records.append(
            DeliveryRecord(
                message_id=_text(item, i, "sid", required=True),
                phone=phone if phone.startswith("+") else f"+{code}{phone}",
                state=DeliveryState.DELIVERED if success else DeliveryState.FAILED,
                error_code=_text(item, i, "errmsg"),
                received_at=_time(_text(item, i, "user_receive_time"), i, "user_receive_time", CHINA),
            )
        )
    return records


def _aliyun_phone(number: str) -> str:
    # SmsReport gives Chinese mainland numbers as 11 national digits, others with their country code.
    digits = number.lstrip("+")
    return (
        f"+86{digits}" if len(digits) == 11 and digits.startswith("1") and not number.startswith("+") else f"+{digits}"
    )


def parse_aliyun(body: bytes) -> list[DeliveryRecord]:
    records = []
    for i, item in enumerate(_array(body)):
        if "success" not in item:
            raise ReceiptFormatError(FIELD_MISSING.format(index=i, field="success"))
        success = item["success"] in (True, "true", "True", 1)
        records.append(
            DeliveryRecord(
                message_id=_text(item, i, "biz_id", required=True),
                phone=_aliyun_phone(_text(item, i, "phone_number", required=True)),
                state=DeliveryState.DELIVERED if success else DeliveryState.FAILED,
                error_code=_text(item, i, "err_code"),
                received_at=_time(_text(item, i, "report_time"), i, "report_time", CHINA),
                sent_at=_time(_text(item, i, "send_time"), i, "send_time", CHINA),
                out_id=_text(item, i, "out_id"),
            )
        )
    return records


def parse_plivo(params: dict[str, str]) -> DeliveryRecord:
    for field in ("MessageUUID", "Status"):
        if not params.get(field):
            raise ReceiptFormatError(PLIVO_FIELD_MISSING.format(field=field))
    item = {k: v for k, v in params.items()}
    to = item.get("To", "").strip()
    return DeliveryRecord(
        message_id=item["MessageUUID"].strip(),
        phone=to if to.startswith("+") or not to else f"+{to}",
        state=plivo.STATES.get(item["Status"].strip().lower(), DeliveryState.PENDING),
        error_code=item.get("ErrorCode", "").strip(),
        received_at=_time(item.get("DeliveryReportTime", "").strip(), 0, "DeliveryReportTime", UTC),
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
    return any(hmac.compare_digest(expected, candidate.strip()) for candidate in header.split(",") if candidate)
