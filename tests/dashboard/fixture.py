"""A hand-computed fixture: seven messages around 2026-11-20, two providers, three time zones.

id  provider  country  sent_at (UTC)        delivery   conversion
m1  aliyun    CN       2026-11-20 09:10     delivered  converted
m2  aliyun    CN       2026-11-20 09:50     delivered  not_converted
m3  aliyun    CN       2026-11-20 10:05     failed     -
m4  aliyun    CN       2026-11-20 16:30     delivered  converted      (Shanghai: 11-21 00:30)
m5  plivo     US       2026-11-20 09:20     delivered  converted
m6  plivo     US       2026-11-20 23:59     pending    converted      (receipts are unreliable)
m7  plivo     US       2026-11-21 04:00     delivered  converted_with_others  (New York: 11-20 23:00)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apps.messaging.models import ConversionStatus, DeliveryStatus
from apps.providers.models import Provider
from tests.factories import make_account, make_conversion, make_message

UTC = UTC

ROWS = [
    ("m1", Provider.ALIYUN, "+8613800000001", (20, 9, 10), DeliveryStatus.DELIVERED, ConversionStatus.CONVERTED),
    ("m2", Provider.ALIYUN, "+8613800000002", (20, 9, 50), DeliveryStatus.DELIVERED, ConversionStatus.NOT_CONVERTED),
    ("m3", Provider.ALIYUN, "+8613800000003", (20, 10, 5), DeliveryStatus.FAILED, None),
    ("m4", Provider.ALIYUN, "+8613800000004", (20, 16, 30), DeliveryStatus.DELIVERED, ConversionStatus.CONVERTED),
    ("m5", Provider.PLIVO, "+12125550005", (20, 9, 20), DeliveryStatus.DELIVERED, ConversionStatus.CONVERTED),
    ("m6", Provider.PLIVO, "+12125550006", (20, 23, 59), DeliveryStatus.PENDING, ConversionStatus.CONVERTED),
    (
        "m7",
        Provider.PLIVO,
        "+12125550007",
        (21, 4, 0),
        DeliveryStatus.DELIVERED,
        ConversionStatus.CONVERTED_WITH_OTHERS,
    ),
]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def load_fixture() -> dict:
    accounts = {Provider.ALIYUN: make_account(Provider.ALIYUN), Provider.PLIVO: make_account(Provider.PLIVO)}
    messages = {}
    for name, provider, phone, when, delivery, conversion in ROWS:
        message = make_message(
            accounts[provider],
            provider_message_id=name,
            phone=phone,
            sent_at=at(*when),
            delivery_status=delivery,
            template_code="SMS_1" if provider == Provider.ALIYUN else "",
        )
        if conversion:
            make_conversion(message, status=conversion, converted_at=message.sent_at + timedelta(seconds=40))
        messages[name] = message
    return {"accounts": accounts, "messages": messages}
