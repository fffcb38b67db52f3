"""Teaches the simulator the demo's messages and templates: the SentMessage and SmsTemplate rows of
accounts whose endpoint points at this simulator, so delivery sync and conversion reports work on
the demo data. Loaded at start, then incrementally (rows with a higher id) when a caller asks for a
message the simulator does not know, at most every few seconds."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import connection

from apps.providers.simulator.state import Message, SimulatorState, Template

LOCAL_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0", "::1"}
DELIVERED_SHARE = 92  # percent of still-pending demo messages the simulator says were delivered
REVIEW_STATUS = {"reviewing", "approved_pending", "approved", "rejected", "cancelled"}
TEMPLATE_TYPES = {
    "aliyun": {"verification": 0, "notification": 1, "promotional": 2, "international": 3},
    "tencent": {"verification": 3, "notification": 2, "promotional": 1, "international": 3},
}


def points_here(endpoint: str, port: int) -> bool:
    parts = urlsplit(endpoint or "")
    return parts.hostname in LOCAL_HOSTS and parts.port == port


class DatabaseLoader:
    def __init__(self, state: SimulatorState, *, port: int, min_interval: float = 2.0):
        self.state = state
        self.port = port
        self.min_interval = min_interval
        self.last_pk = 0
        self.last_run = 0.0
        self.lock = threading.Lock()

    def account_ids(self) -> dict[int, tuple[str, str]]:
        from apps.providers.models import ProviderAccount

        accounts = ProviderAccount.objects.only("pk", "provider", "endpoint", "sdk_app_id")
        return {a.pk: (a.provider, a.sdk_app_id) for a in accounts if points_here(a.endpoint, self.port)}

    def refresh(self, *, force: bool = False) -> int:
        """Load rows added since the last load; answers how many messages were added."""
        if not force and time.monotonic() - self.last_run < self.min_interval:
            return 0
        if not self.lock.acquire(blocking=force):
            return 0
        try:
            self.last_run = time.monotonic()
            accounts = self.account_ids()
            if force or not self.last_pk:
                self._load_templates(accounts)
            return self._load_messages(accounts)
        finally:
            self.lock.release()
            if threading.current_thread() is not threading.main_thread():
                connection.close()  # request threads come and go: do not leave their connections open

    def _load_messages(self, accounts: dict) -> int:
        from apps.messaging.models import SentMessage

        fields = ("pk", "account_id", "provider_message_id", "phone", "sent_at", "delivery_status", "error_code")
        fields += ("received_at", "template_code", "content", "out_id", "trackable")
        rows = SentMessage.objects.filter(account_id__in=list(accounts), pk__gt=self.last_pk).order_by("pk")
        count = 0
        for row in rows.values(*fields).iterator(chunk_size=5000):
            provider, app_id = accounts[row["account_id"]]
            delivery, error, received = self._outcome(row)
            message = Message(
                provider, row["provider_message_id"], row["phone"], row["sent_at"], delivery=delivery,
                error_code=error, received_at=received, template_code=row["template_code"],
                content=row["content"], out_id=row["out_id"], app_id=app_id, trackable=row["trackable"],
            )  # fmt: skip
            self.state.add_message(message)
            self.last_pk = row["pk"]
            count += 1
        return count

    @staticmethod
    def _outcome(row: dict):
        status = row["delivery_status"]
        if status in ("delivered", "failed"):
            return status, row["error_code"], row["received_at"]
        # Still pending in smsdash: the simulated provider decides, the same way every time.
        roll = int(hashlib.sha256(row["provider_message_id"].encode()).hexdigest()[:8], 16)
        if roll % 100 < DELIVERED_SHARE:
            return "delivered", "DELIVERED", row["sent_at"] + timedelta(seconds=2 + roll % 30)
        return "failed", "UNDELIV", None

    def _load_templates(self, accounts: dict) -> None:
        from apps.sms_templates.models import SmsTemplate

        rows = SmsTemplate.objects.filter(account_id__in=list(accounts)).exclude(provider_template_code="")
        for t in rows.values("account_id", "provider_template_code", "name", "content", "type", "remark",
                             "provider_status", "provider_reason"):  # fmt: skip
            provider = accounts[t["account_id"]][0]
            if provider not in TEMPLATE_TYPES:
                continue
            status = t["provider_status"] if t["provider_status"] in REVIEW_STATUS else "reviewing"
            template = Template(
                provider, t["provider_template_code"], t["name"], t["content"], TEMPLATE_TYPES[provider][t["type"]],
                international=int(t["type"] == "international"), remark=t["remark"], status=status,
                reason=t["provider_reason"], decide_at=time.monotonic() + self.state.review["delay"],
            )  # fmt: skip
            with self.state.lock:
                self.state.templates.setdefault((provider, template.code), template)
