"""The simulator's control surface, counters, fault injection, demo loader and command."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from apps.providers.clients import client_for
from apps.providers.clients.base import ConversionOutcome, ConversionReport, ErrorKind, ProviderError, SendRequest
from apps.providers.simulator.loader import DatabaseLoader, points_here
from apps.providers.simulator.state import SimulatorState
from apps.sms_templates.models import ProviderReviewStatus
from bench.processes import free_port
from tests.factories import make_message, make_template
from tests.progress import cpu_ticks, wait_for_exit, wait_for_progress

PHONE = "+8613800138000"
ROOT = Path(__file__).resolve().parents[2]


def now() -> datetime:
    return datetime.now(UTC)


def test_stats_count_requests_per_operation_and_conversions_per_message(simulated_account, simulator):
    client = client_for(simulated_account("aliyun", alibaba_conversion_api="sms_conversion_intl"))
    simulator.add_message("aliyun", "1^1", PHONE, now() - timedelta(minutes=1))
    client.report_conversion(ConversionReport("1^1", PHONE, ConversionOutcome.CONVERTED, now()))
    with pytest.raises(ProviderError):
        client.report_conversion(
            ConversionReport("1^1", PHONE, ConversionOutcome.CONVERTED, now() - timedelta(hours=1))
        )
    stats = requests.get(f"{simulator.url}/_simulator/stats", timeout=5).json()
    assert stats["requests"] == {"aliyun": {"SmsConversionIntl": 2}}
    assert stats["succeeded"] == {"aliyun": {"SmsConversionIntl": 1}}
    assert stats["conversions"] == {"1^1": 1}  # the refused report did not count


def test_faults_are_switched_per_provider_at_run_time_and_cleared_with_an_empty_object(simulated_account, simulator):
    tencent = client_for(simulated_account("tencent"))
    plivo = client_for(simulated_account("plivo"))
    answer = requests.post(f"{simulator.url}/_simulator/faults", json={"provider": "tencent", "outage": True}).json()
    assert answer["faults"]["tencent"]["outage"] and not answer["faults"]["plivo"]["outage"]
    with pytest.raises(ProviderError):
        tencent.send_sms(SendRequest(phone=PHONE, template_code="1"))
    assert plivo.send_sms(SendRequest(phone="+14155552222", text="x")).message_id
    requests.post(f"{simulator.url}/_simulator/faults", json={"throttle": True})  # all providers
    with pytest.raises(ProviderError) as caught:
        plivo.send_sms(SendRequest(phone="+14155552222", text="x"))
    assert caught.value.kind == ErrorKind.THROTTLED
    requests.post(f"{simulator.url}/_simulator/faults", json={})
    assert tencent.send_sms(SendRequest(phone=PHONE, template_code="1")).message_id


def test_an_error_rate_fails_about_that_share_of_requests(simulated_account, simulator):
    simulator.state.rng.seed(3)
    simulator.set_faults(provider="plivo", error_rate=0.3)
    client = client_for(simulated_account("plivo"))
    failures = 0
    for _ in range(200):
        try:
            client.send_sms(SendRequest(phone="+14155552222", text="x"))
        except ProviderError as error:
            assert error.kind == ErrorKind.TRANSIENT
            failures += 1
    assert 40 <= failures <= 80


def test_added_latency_delays_the_answer(simulated_account, simulator):
    simulator.set_faults(provider="plivo", latency_ms=250)
    started = time.monotonic()
    client_for(simulated_account("plivo")).send_sms(SendRequest(phone="+14155552222", text="x"))
    assert time.monotonic() - started >= 0.25


@pytest.mark.parametrize(
    "body,error",
    [
        ({"provider": "sinch"}, "provider must be one of aliyun, tencent, plivo."),
        ({"error_rate": 2}, "error_rate must be between 0 and 1, latency_ms 0 or more."),
        (
            {"latency": 5},
            "Unknown fault setting(s): latency; allowed: error_rate, latency_ms, outage, provider, throttle.",
        ),
        ({"error_rate": "lots"}, "error_rate must be a number and latency_ms an integer."),
    ],
)
def test_bad_fault_settings_are_refused_with_the_rule(simulator, body, error):
    response = requests.post(f"{simulator.url}/_simulator/faults", json=body, timeout=5)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_messages_can_be_seeded_over_http(simulator):
    message = {"provider": "plivo", "message_id": "m1", "phone": "+14155552222"}
    message.update(sent_at="2026-11-20T10:00:00+00:00", delivery="failed", error_code="30")
    body = {"messages": [message]}
    assert requests.post(f"{simulator.url}/_simulator/messages", json=body).json() == {"added": 1}
    assert simulator.message("plivo", "m1").error_code == "30"
    bad = requests.post(f"{simulator.url}/_simulator/messages", json={"messages": [{"provider": "x"}]})
    assert bad.status_code == 400 and "messages[0]" in bad.json()["error"]


def test_the_review_policy_is_set_over_http(simulator):
    answer = requests.post(f"{simulator.url}/_simulator/review", json={"outcome": "rejected", "reason": "No."})
    assert answer.json()["review"] == {"outcome": "rejected", "reason": "No.", "delay": 0.0}
    bad = requests.post(f"{simulator.url}/_simulator/review", json={"outcome": "maybe"})
    assert bad.status_code == 400


def test_automatic_review_rejects_prohibited_content_and_codes_without_a_variable(simulator):
    state = simulator.state
    casino = state.submit_template("aliyun", name="a", content="Visit our casino", type=1, remark="r")
    no_code = state.submit_template("tencent", name="b", content="Your code is here", type=3, remark="r")
    fine = state.submit_template("aliyun", name="c", content="Code ${code}", type=0, remark="r")
    assert (casino.current().status, casino.reason) == ("rejected", "The template contains prohibited content: casino.")
    assert no_code.current().status == "rejected" and "variable" in no_code.reason
    assert fine.current().status == "approved"


def test_reset_forgets_everything(simulator):
    simulator.add_message("plivo", "m1", "+14155552222", now())
    simulator.set_faults(outage=True)
    assert requests.post(f"{simulator.url}/_simulator/reset").json() == {"reset": True}
    stats = simulator.stats()
    assert stats["messages"] == 0 and not stats["faults"]["plivo"]["outage"]


def test_unknown_paths_and_reload_without_a_database_are_clear_errors(simulator):
    assert requests.get(f"{simulator.url}/nothing").status_code == 404
    assert requests.post(f"{simulator.url}/_simulator/nothing").status_code == 404
    reload = requests.post(f"{simulator.url}/_simulator/reload")
    assert reload.status_code == 400 and "without a database loader" in reload.json()["error"]


def test_the_loader_teaches_the_simulator_the_messages_of_accounts_pointed_at_it(simulated_account, simulator, db):
    port = int(simulator.url.rsplit(":", 1)[1])
    here, elsewhere = simulated_account("aliyun"), simulated_account("aliyun", endpoint="http://127.0.0.1:1")
    sent = now() - timedelta(hours=2)
    delivered = make_message(here, provider_message_id="1^1", sent_at=sent, delivery_status="delivered",
                             error_code="DELIVERED", received_at=sent + timedelta(seconds=5))  # fmt: skip
    make_message(here, provider_message_id="1^2", sent_at=sent)  # pending: the simulator decides
    make_message(elsewhere, provider_message_id="9^9", sent_at=sent)
    make_template(here, provider_template_code="SMS_1", provider_status=ProviderReviewStatus.REJECTED,
                  provider_reason="Too vague.")  # fmt: skip
    state = SimulatorState()
    loader = DatabaseLoader(state, port=port)
    assert loader.refresh(force=True) == 2
    assert state.message("aliyun", "1^1").received_at == delivered.received_at
    assert state.message("aliyun", "1^2").delivery in ("delivered", "failed")
    assert state.messages.get(("aliyun", "9^9")) is None
    assert (state.template("aliyun", "SMS_1").status, state.template("aliyun", "SMS_1").reason) == (
        "rejected",
        "Too vague.",
    )
    make_message(here, provider_message_id="1^3", sent_at=sent)
    assert loader.refresh(force=True) == 1  # only what is new


def test_points_here_compares_host_and_port():
    assert points_here("http://127.0.0.1:8025", 8025) and points_here("http://localhost:8025/", 8025)
    assert not points_here("http://127.0.0.1:8026", 8025) and not points_here("https://dysmsapi.aliyuncs.com", 8025)


def test_credentials_on_the_command_line_must_be_id_and_secret():
    with pytest.raises(CommandError, match="ID:SECRET"):
        call_command("simulate_providers", "--aliyun-key", "no-colon")


def answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or too busy to answer
        return False
    return True


def test_the_command_serves_with_the_credentials_it_was_given(simulated_account):
    port = free_port()
    command = [sys.executable, "manage.py", "simulate_providers", "--port", str(port), "--no-database",
               "--plivo-auth", "MACOMMANDLINE0000001:cli-token"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        started = wait_for_progress(
            lambda: (answers(f"{url}/_simulator/stats"), process.poll(), cpu_ticks(process.pid)),
            lambda sample: sample[0] or sample[1] is not None,
            what="simulate_providers starting",
        )
        assert started[0], process.communicate()[0].decode(errors="replace")
        given = simulated_account("plivo", key_id="MACOMMANDLINE0000001", key_secret="cli-token", endpoint=url)
        assert client_for(given).send_sms(SendRequest(phone="+14155552222", text="x")).message_id
        with pytest.raises(ProviderError) as caught:
            client_for(simulated_account("plivo", endpoint=url)).send_sms(SendRequest(phone="+14155552222", text="x"))
        assert caught.value.kind == ErrorKind.AUTH  # the demo default is not accepted when keys are given
    finally:
        process.terminate()
        wait_for_exit(process, what="simulate_providers stopping")


@pytest.mark.parametrize("phone", ["+14155552222", "+8613800138000"])
def test_the_alibaba_simulator_keeps_the_number_an_sms_was_sent_to(simulated_account, simulator, phone):
    client = client_for(simulated_account("aliyun"))
    sent = client.send_sms(SendRequest(phone=phone, template_code="SMS_1", sign_name="Demo"))
    assert simulator.message("aliyun", sent.message_id).phone == phone
