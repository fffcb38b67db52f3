"""Every operation of every client, under every failure the simulator can produce, gets the error kind
a caller acts on: auth (wrong secret), throttled, transient (5xx, outage, timeout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.providers.clients.base import (
    ConversionOutcome,
    ConversionReport,
    DeliveryQuery,
    ErrorKind,
    ProviderError,
    SendRequest,
    TemplateSubmission,
)
from apps.providers.clients.registry import CLIENTS

PHONES = {"aliyun": "+8613800138000", "tencent": "+8613800138000", "plivo": "+14155552222"}
OPERATIONS = {
    "send_sms": lambda c, phone: c.send_sms(SendRequest(phone=phone, template_code="1", text="x")),
    "report_conversion": lambda c, phone: c.report_conversion(
        ConversionReport("m-1", phone, ConversionOutcome.CONVERTED, datetime.now(UTC))
    ),
    "delivery_status": lambda c, phone: c.delivery_status(
        DeliveryQuery(phone=phone, day=datetime.now(UTC).date() - timedelta(days=1))
    ),
    "delivery_detail": lambda c, phone: c.delivery_status(
        DeliveryQuery(phone=phone, day=datetime.now(UTC).date(), message_id="m-1")
    ),
    "submit_template": lambda c, phone: c.submit_template(
        TemplateSubmission(name="n", type="notification", content="Hello.", remark="r")
    ),
    "template_status": lambda c, phone: c.template_status("2100001"),
}
FAULTS = {
    "wrong secret": (None, ErrorKind.AUTH),
    "throttled": (dict(throttle=True), ErrorKind.THROTTLED),
    "server error": (dict(error_rate=1.0), ErrorKind.TRANSIENT),
    "outage": (dict(outage=True), ErrorKind.TRANSIENT),
    "timeout": (dict(latency_ms=300), ErrorKind.TRANSIENT),
}
CASES = [
    (provider, operation, fault)
    for provider in PHONES
    for operation in OPERATIONS
    for fault in FAULTS
    if not (provider == "plivo" and "template" in operation)  # Plivo has no template API
]


@pytest.mark.parametrize("provider,operation,fault", CASES)
def test_every_operation_classifies_every_failure(simulated_account, simulator, provider, operation, fault):
    faults, kind = FAULTS[fault]
    overrides = {"key_secret": "wrong"} if faults is None else {}
    client = CLIENTS[provider](simulated_account(provider, **overrides), timeout=(1, 0.1))
    if faults:
        simulator.set_faults(provider=provider, **faults)
    with pytest.raises(ProviderError) as caught:
        OPERATIONS[operation](client, PHONES[provider])
    assert caught.value.kind == kind, caught.value
    assert caught.value.provider == provider and caught.value.code
