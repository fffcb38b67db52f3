"""What the simulator remembers: credentials, messages, templates, faults, counters. Thread-safe."""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apps.providers.simulator import defaults

PROVIDERS = ("aliyun", "tencent", "plivo")
PROHIBITED_WORDS = ("casino", "gambling", "loan", "赌博", "贷款")
VARIABLE_RE = re.compile(r"\$\{[^{}]*\}|\{\d+\}")


@dataclass
class Message:
    provider: str
    message_id: str
    phone: str  # E.164
    sent_at: datetime
    delivery: str = "delivered"  # pending | delivered | failed
    error_code: str = ""
    received_at: datetime | None = None
    template_code: str = ""
    content: str = ""
    out_id: str = ""
    app_id: str = ""  # Tencent SmsSdkAppId it was sent under ("" = any)
    trackable: bool = True

    def __post_init__(self) -> None:
        if self.sent_at.tzinfo is None:
            self.sent_at = self.sent_at.replace(tzinfo=UTC)
        if self.delivery == "delivered" and self.received_at is None:
            self.received_at = self.sent_at + timedelta(seconds=3)
        if self.delivery == "failed" and not self.error_code:
            self.error_code = "UNDELIV"


@dataclass
class Template:
    provider: str
    code: str
    name: str
    content: str
    type: int
    international: int = 0
    intl_type: int | None = None  # Alibaba CreateSmsTemplate IntlType, as filed
    remark: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "reviewing"  # reviewing | approved | approved_pending | rejected | cancelled
    reason: str = ""
    decide_at: float = 0.0  # monotonic time at which a reviewing template gets `outcome`
    outcome: str = "approved"

    def current(self) -> Template:
        if self.status == "reviewing" and time.monotonic() >= self.decide_at:
            self.status = self.outcome
            if self.outcome != "rejected":
                self.reason = ""
        return self


@dataclass
class Faults:
    error_rate: float = 0.0
    latency_ms: int = 0
    throttle: bool = False
    outage: bool = False

    def as_dict(self) -> dict:
        return dict(error_rate=self.error_rate, latency_ms=self.latency_ms, throttle=self.throttle, outage=self.outage)


def _counter() -> defaultdict:
    return defaultdict(lambda: defaultdict(int))


class SimulatorState:
    def __init__(self, *, aliyun=None, tencent=None, plivo=None, review_delay: float = 0.0):
        self.lock = threading.RLock()
        self.credentials = {
            "aliyun": dict(aliyun or [defaults.DEMO_ALIYUN_KEY]),
            "tencent": dict(tencent or [defaults.DEMO_TENCENT_KEY]),
            "plivo": dict(plivo or [defaults.DEMO_PLIVO_AUTH]),
        }
        self.default_review_delay = review_delay
        self.loader = None  # optional: fetches messages the simulator does not know yet (demo DB)
        self.rng = random.Random()
        self.in_flight = 0
        self.reset()

    def track(self, delta: int) -> None:
        with self.lock:
            self.in_flight += delta

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait for requests still being answered (a slow reply a client gave up on) to finish."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)

    def reset(self) -> None:
        with self.lock:
            self.messages: dict[tuple[str, str], Message] = {}
            self.by_phone: dict[tuple[str, str], list[Message]] = defaultdict(list)
            self.templates: dict[tuple[str, str], Template] = {}
            self.faults = {p: Faults() for p in PROVIDERS}
            self.requests = _counter()
            self.succeeded = _counter()
            self.signatures = _counter()  # provider -> signature scheme -> verified requests
            self.conversions: dict[str, int] = defaultdict(int)
            self.last_conversion: dict[str, dict] = {}
            self.nonces: dict[str, float] = {}
            self.review = {"outcome": "auto", "reason": "", "delay": self.default_review_delay}
            self.template_seq = 0
            self.tencent_report_code = "ok"  # the docs show both "ok" and "OK"

    # --- messages ---------------------------------------------------------------------------

    def add_message(self, message: Message) -> Message:
        with self.lock:
            key = (message.provider, message.message_id)
            old = self.messages.get(key)
            if old is not None:
                self.by_phone[(old.provider, old.phone)].remove(old)
            self.messages[key] = message
            self.by_phone[(message.provider, message.phone)].append(message)
        return message

    def message(self, provider: str, message_id: str) -> Message | None:
        with self.lock:
            found = self.messages.get((provider, message_id))
        if found is None and self.loader is not None:
            self.loader.refresh()
            found = self.messages.get((provider, message_id))
        return found

    def messages_to(self, provider: str, phone: str) -> list[Message]:
        if self.loader is not None:
            self.loader.refresh()
        with self.lock:
            return sorted(self.by_phone.get((provider, phone), []), key=lambda m: m.sent_at)

    def new_message_id(self, provider: str) -> str:
        if provider == "aliyun":
            return f"{self.rng.randrange(10**14, 10**15)}^{self.rng.randrange(10**9, 10**10)}"
        if provider == "tencent":
            return f"2640:{self.rng.randrange(10**29, 10**30)}"
        return str(uuid.uuid4())

    # --- templates --------------------------------------------------------------------------

    def submit_template(self, provider: str, **fields) -> Template:
        with self.lock:
            self.template_seq += 1
            code = (
                f"SMS_4{self.template_seq + 70000000:08d}" if provider == "aliyun" else str(3100000 + self.template_seq)
            )
            outcome, reason = self._review_outcome(fields["content"], fields["type"], provider)
            template = Template(provider=provider, code=code, outcome=outcome, reason=reason, **fields)
            template.decide_at = time.monotonic() + float(self.review["delay"])
            self.templates[(provider, code)] = template
            return template

    def _review_outcome(self, content: str, type_: int, provider: str) -> tuple[str, str]:
        policy = self.review
        if policy["outcome"] != "auto":
            return policy["outcome"], policy["reason"] or "Rejected by the simulator's review policy."
        bad = [w for w in PROHIBITED_WORDS if w in content.lower()]
        if bad:
            return "rejected", f"The template contains prohibited content: {bad[0]}."
        verification = (provider == "aliyun" and type_ == 0) or (provider == "tencent" and type_ == 3)
        if verification and not VARIABLE_RE.search(content):
            return "rejected", "A verification-code template must contain a variable for the code."
        return "approved", ""

    def template(self, provider: str, code: str) -> Template | None:
        with self.lock:
            found = self.templates.get((provider, code))
            return found.current() if found else None

    # --- faults, counters, nonces ------------------------------------------------------------

    def set_faults(self, spec: dict) -> None:
        with self.lock:
            if not spec:
                self.faults = {p: Faults() for p in PROVIDERS}
                return
            targets = [spec["provider"]] if spec.get("provider") else list(PROVIDERS)
            for provider in targets:
                self.faults[provider] = Faults(
                    error_rate=float(spec.get("error_rate", 0.0)),
                    latency_ms=int(spec.get("latency_ms", 0)),
                    throttle=bool(spec.get("throttle", False)),
                    outage=bool(spec.get("outage", False)),
                )

    def count(self, provider: str, operation: str, *, ok: bool | None = None) -> None:
        with self.lock:
            target = self.requests if ok is None else self.succeeded
            if ok is not False:
                target[provider][operation] += 1

    def count_signature(self, provider: str, scheme: str) -> None:
        with self.lock:
            self.signatures[provider][scheme] += 1

    def record_conversion(self, provider: str, message_id: str, **details) -> None:
        with self.lock:
            self.conversions[message_id] += 1
            self.last_conversion[message_id] = {"provider": provider, **details}

    def use_nonce(self, nonce: str) -> bool:
        """False when the nonce was already used in the last 15 minutes (Alibaba: SignatureNonceUsed)."""
        now = time.monotonic()
        with self.lock:
            if len(self.nonces) > 100_000:
                self.nonces = {n: t for n, t in self.nonces.items() if now - t < 900}
            if nonce in self.nonces and now - self.nonces[nonce] < 900:
                return False
            self.nonces[nonce] = now
            return True

    def stats(self) -> dict:
        with self.lock:
            return {
                "requests": {p: dict(ops) for p, ops in self.requests.items()},
                "succeeded": {p: dict(ops) for p, ops in self.succeeded.items()},
                "signatures": {p: dict(kinds) for p, kinds in self.signatures.items()},
                "conversions": dict(self.conversions),
                "last_conversion": dict(self.last_conversion),
                "messages": len(self.messages),
                "templates": len(self.templates),
                "faults": {p: f.as_dict() for p, f in self.faults.items()},
                "review": dict(self.review),
            }
