"""The Plivo client against the simulator over real HTTP (Basic auth, JSON)."""

from __future__ import annotations

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
    SendRequest,
    TemplateSubmission,
)
from apps.providers.clients.plivo import NO_TEMPLATE_API, PlivoClient
from apps.providers.simulator import defaults

PHONE = "+14155552222"
AUTH_ID, TOKEN = defaults.DEMO_PLIVO_AUTH


def now() -> datetime:
    return datetime.now(UTC)


def test_it_sends_a_trackable_sms(simulated_account, simulator):
    result = client_for(simulated_account("plivo")).send_sms(SendRequest(phone=PHONE, text="Your code is 4711"))
    message = simulator.message("plivo", result.message_id)
    assert (message.phone, message.content, message.trackable) == (PHONE, "Your code is 4711", True)
    assert simulator.stats()["signatures"]["plivo"] == {"basic": 1}


@pytest.mark.parametrize(
    "outcome,status",
    [
        (ConversionOutcome.CONVERTED, "CONVERTED"),
        (ConversionOutcome.NOT_CONVERTED, "NOT_CONVERTED"),
        (ConversionOutcome.CONVERTED_WITH_OTHERS, "CONVERTED_WITH_OTHERS"),
    ],
)
def test_it_reports_each_conversion_status(simulated_account, simulator, outcome, status):
    simulator.add_message("plivo", "0a1b", PHONE, now() - timedelta(minutes=3))
    converted_at = now() - timedelta(seconds=42, microseconds=123_000)
    result = client_for(simulated_account("plivo")).report_conversion(
        ConversionReport("0a1b", PHONE, outcome, converted_at)
    )
    stats = simulator.stats()
    assert result.request_id and stats["conversions"] == {"0a1b": 1}
    assert stats["last_conversion"]["0a1b"]["status"] == status
    sent_time = datetime.fromisoformat(stats["last_conversion"]["0a1b"]["time"])
    assert abs(sent_time - converted_at) < timedelta(milliseconds=1)


def test_a_conversion_is_sent_on_the_documented_lowercase_path(simulated_account, simulator):
    simulator.add_message("plivo", "c0de", PHONE, now() - timedelta(minutes=3))
    client_for(simulated_account("plivo")).report_conversion(
        ConversionReport("c0de", PHONE, ConversionOutcome.CONVERTED, now())
    )
    recorded = simulator.stats()["last_conversion"]["c0de"]
    assert recorded["path"] == f"/v1/account/{AUTH_ID}/message/c0de/conversion/"
    assert recorded["documented_path"] is True


def test_the_simulator_marks_a_conversion_on_an_undocumented_casing(simulator):
    simulator.add_message("plivo", "c0de", PHONE, now() - timedelta(minutes=3))
    response = requests.post(
        f"{simulator.url}/v1/Account/{AUTH_ID}/Message/c0de/Conversion/",
        json={"status": "CONVERTED", "timestamp": now().strftime("%Y-%m-%dT%H:%M:%SZ")},
        auth=(AUTH_ID, TOKEN),
        timeout=5,
    )
    assert response.status_code == 200
    assert simulator.stats()["last_conversion"]["c0de"]["documented_path"] is False


def test_the_documented_lowercase_conversion_path_is_accepted(simulator):
    simulator.add_message("plivo", "c0de", PHONE, now() - timedelta(minutes=3))
    response = requests.post(
        f"{simulator.url}/v1/account/{AUTH_ID}/message/c0de/conversion/",
        json={"status": "CONVERTED", "timestamp": now().strftime("%Y-%m-%dT%H:%M:%SZ")},
        auth=(AUTH_ID, TOKEN),
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json()["conversion_uuid"] == "conv-c0de"
    assert simulator.conversions("c0de") == 1


def test_an_untrackable_or_unknown_message_cannot_be_reported(simulated_account, simulator):
    client = client_for(simulated_account("plivo"))
    simulator.add_message("plivo", "quiet", PHONE, now() - timedelta(minutes=3), trackable=False)
    for message_id, code, text in [("quiet", "400", "trackable"), ("nope", "404", "not found")]:
        with pytest.raises(ProviderError) as caught:
            client.report_conversion(ConversionReport(message_id, PHONE, ConversionOutcome.CONVERTED, now()))
        assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, code)
        assert text in caught.value.message and caught.value.request_id
    assert simulator.stats()["conversions"] == {}


def test_a_wrong_auth_token_is_an_authentication_error(simulated_account):
    client = client_for(simulated_account("plivo", key_secret="wrong-token"))
    with pytest.raises(ProviderError) as caught:
        client.send_sms(SendRequest(phone=PHONE, text="x"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.AUTH, "401")


def test_another_accounts_path_is_refused(simulator):
    response = requests.get(f"{simulator.url}/v1/Account/MAOTHERACCOUNT0000001/Message/", auth=(AUTH_ID, TOKEN))
    assert response.status_code == 401


def test_faults_are_classified(simulated_account, simulator):
    client = client_for(simulated_account("plivo"))
    for faults, kind, code in [
        (dict(throttle=True), ErrorKind.THROTTLED, "429"),
        (dict(error_rate=1.0), ErrorKind.TRANSIENT, "500"),
        (dict(outage=True), ErrorKind.TRANSIENT, "503"),
    ]:
        simulator.set_faults(provider="plivo", **faults)
        with pytest.raises(ProviderError) as caught:
            client.send_sms(SendRequest(phone=PHONE, text="x"))
        assert (caught.value.kind, caught.value.code) == (kind, code)


def test_a_slow_answer_times_out(simulated_account, simulator):
    simulator.set_faults(provider="plivo", latency_ms=600)
    with pytest.raises(ProviderError) as caught:
        PlivoClient(simulated_account("plivo"), timeout=(1, 0.2)).send_sms(SendRequest(phone=PHONE, text="x"))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "Timeout")


def test_delivery_status_of_one_message(simulated_account, simulator):
    sent = now() - timedelta(hours=1)
    simulator.add_message("plivo", "f00d", PHONE, sent, delivery="failed", error_code="200")
    client = client_for(simulated_account("plivo"))
    page = client.delivery_status(DeliveryQuery(phone=PHONE, day=sent.date(), message_id="f00d"))
    [record] = page.records
    assert (record.state, record.error_code, record.sent_at) == (DeliveryState.FAILED, "200", sent)
    assert simulator.stats()["succeeded"]["plivo"] == {"GetMessage": 1}


def test_delivery_status_pages_through_the_message_list(simulated_account, simulator):
    day_start = datetime.combine(now().date() - timedelta(days=1), datetime.min.time(), UTC)
    for i in range(45):
        simulator.add_message("plivo", f"m{i:02d}", PHONE, day_start + timedelta(minutes=i), delivery="delivered")
    simulator.add_message("plivo", "next-day", PHONE, day_start + timedelta(days=1, minutes=1))
    simulator.add_message("plivo", "other-phone", "+14155559999", day_start + timedelta(minutes=1))
    client = client_for(simulated_account("plivo"))
    query = DeliveryQuery(phone=PHONE, day=day_start.date(), page_size=50)
    first = client.delivery_status(query)
    assert (len(first.records), first.total, first.has_more) == (20, 45, True)  # Plivo's limit is 20
    records = client.delivery_records(query)
    assert sorted(r.message_id for r in records) == [f"m{i:02d}" for i in range(45)]
    assert all(r.state == DeliveryState.DELIVERED and r.received_at for r in records)


def test_the_list_limit_is_validated_by_the_provider(simulator):
    response = requests.get(f"{simulator.url}/v1/Account/{AUTH_ID}/Message/?limit=21", auth=(AUTH_ID, TOKEN))
    assert response.status_code == 400 and "limit" in response.json()["error"]


def test_plivo_has_no_template_api(simulated_account, simulator):
    client = client_for(simulated_account("plivo"))
    submission = TemplateSubmission(name="x", type="verification", content="${code}", remark="r")
    for call in (lambda: client.submit_template(submission), lambda: client.template_status("x")):
        with pytest.raises(ProviderError) as caught:
            call()
        assert (caught.value.kind, caught.value.message) == (ErrorKind.UNSUPPORTED, NO_TEMPLATE_API)
    assert simulator.stats()["requests"] == {}
