"""The provider simulator as pytest fixtures (registered in tests/conftest.py via pytest_plugins).

- `simulator`: the simulator running on 127.0.0.1 on a free port (one server per session, in a
  background thread), reset before each test: no messages, templates, faults or counts.
      simulator.url                       -> "http://127.0.0.1:PORT", an account's endpoint
      simulator.stats()                   -> GET /_simulator/stats as a dict
      simulator.set_faults(provider="tencent", error_rate=1.0, latency_ms=0, throttle=False, outage=False)
      simulator.clear_faults()
      simulator.add_message("aliyun", "123^456", "+8613800138000", sent_at, delivery="pending", ...)
      simulator.set_review(outcome="rejected", reason="...", delay=0.0)   # outcome: auto|approved|rejected
      simulator.add_template("tencent", code="2100001", status="approved", ...)
      simulator.message("plivo", uuid), simulator.template("aliyun", "SMS_...")
      simulator.conversions(message_id)   -> how many conversion reports the provider accepted for it
- `simulated_account`: factory `simulated_account(provider="aliyun", **overrides) -> ProviderAccount`,
  saved, with endpoint=simulator.url and the simulator's demo credentials; override e.g.
  key_secret="wrong" to see authentication fail, or alibaba_signature="rpc_v1".
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime

import pytest
import requests

from apps.providers.models import Provider, ProviderAccount
from apps.providers.simulator import defaults
from apps.providers.simulator.server import SimulatorServer
from apps.providers.simulator.state import Message, Template

_names = itertools.count(1)

ACCOUNT_FIELDS = {
    Provider.ALIYUN: dict(key=defaults.DEMO_ALIYUN_KEY, region="cn-hangzhou"),
    Provider.TENCENT: dict(
        key=defaults.DEMO_TENCENT_KEY, region="ap-guangzhou", sdk_app_id=defaults.DEMO_TENCENT_APP_ID
    ),
    Provider.PLIVO: dict(key=defaults.DEMO_PLIVO_AUTH, region=""),
}


class Simulator:
    def __init__(self, server: SimulatorServer):
        self.server = server
        self.state = server.state
        self.url = server.url
        self.http = requests.Session()

    def stats(self) -> dict:
        response = self.http.get(f"{self.url}/_simulator/stats", timeout=5)
        response.raise_for_status()
        return response.json()

    def set_faults(self, **faults) -> dict:
        response = self.http.post(f"{self.url}/_simulator/faults", json=faults, timeout=5)
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> None:
        self.set_faults()

    def set_review(self, *, outcome: str = "auto", reason: str = "", delay: float = 0.0) -> None:
        body = {"outcome": outcome, "reason": reason, "delay_seconds": delay}
        self.http.post(f"{self.url}/_simulator/review", json=body, timeout=5).raise_for_status()

    def add_message(
        self, provider: str, message_id: str, phone: str, sent_at: datetime, *, delivery: str = "delivered", **fields
    ) -> Message:
        """A message the provider knows: delivery is pending, delivered or failed (with error_code)."""
        return self.state.add_message(Message(str(provider), message_id, phone, sent_at, delivery=delivery, **fields))

    def add_template(self, provider: str, *, code: str, status: str = "approved", reason: str = "", **fields):
        fields = {"name": "Template", "content": "Your code is ${code}.", "type": 0, **fields}
        template = Template(str(provider), code, status=status, reason=reason, decide_at=time.monotonic(), **fields)
        with self.state.lock:
            self.state.templates[(str(provider), code)] = template
        return template

    def message(self, provider: str, message_id: str) -> Message | None:
        return self.state.message(str(provider), message_id)

    def template(self, provider: str, code: str) -> Template | None:
        return self.state.template(str(provider), code)

    def conversions(self, message_id: str) -> int:
        return self.stats()["conversions"].get(message_id, 0)


@pytest.fixture(scope="session")
def _simulator_server():
    server = SimulatorServer().start()
    yield server
    server.stop()


@pytest.fixture
def simulator(_simulator_server) -> Simulator:
    _simulator_server.state.wait_idle()
    _simulator_server.state.reset()
    sim = Simulator(_simulator_server)
    yield sim
    sim.http.close()
    _simulator_server.state.wait_idle()
    _simulator_server.state.reset()


@pytest.fixture
def simulated_account(db, simulator):
    def make(provider: str = Provider.ALIYUN, **overrides) -> ProviderAccount:
        spec = ACCOUNT_FIELDS[provider]
        key_id, secret = spec["key"]
        fields = dict(
            provider=provider,
            name=f"Simulated {provider} {next(_names)}",
            key_id=key_id,
            key_secret=secret,
            region=spec["region"],
            sdk_app_id=spec.get("sdk_app_id", ""),
            endpoint=simulator.url,
        )
        fields.update(overrides)
        account = ProviderAccount(**fields)
        account.full_clean()
        account.save()
        return account

    return make
