"""The one service that applies a delivery status, whoever brought it (pull sync, webhook, a late
receipt). Applying the same status twice changes nothing: a message moves from pending (or expired)
to delivered or failed once, by a conditional UPDATE, so two workers or a duplicated receipt cannot
apply it twice; a pending report never downgrades a final one."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as tz

from django.db import connection, transaction
from django.utils import timezone

from apps.messaging.delivery.matching import match_records
from apps.messaging.delivery.screening import screen_records
from apps.messaging.models import DeliveryReceipt, DeliveryStatus, ReceiptSource, SentMessage
from apps.providers.clients.base import DeliveryRecord, DeliveryState
from apps.providers.models import Provider, ProviderAccount

logger = logging.getLogger(__name__)

FINAL_STATES = {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}
# An expired message may still get its receipt late (a provider's push after our window closed).
OPEN_STATES = [DeliveryStatus.PENDING, DeliveryStatus.EXPIRED]

# How far back each provider answers delivery queries (PROVIDERS.md A.4, B.3); older pending
# messages become expired instead of being asked about forever. Plivo keeps message records for
# months; 90 days is our assumption (docs/decisions.md).
QUERY_WINDOW_DAYS = {Provider.ALIYUN: 30, Provider.TENCENT: 7, Provider.PLIVO: 90}
# The calendar a provider files messages under (its clients' send_day): Alibaba's SendDate is China time.
CHINA_TIME = tz(timedelta(hours=8), "CST")
DAY_ZONES = {Provider.ALIYUN: CHINA_TIME, Provider.TENCENT: UTC, Provider.PLIVO: UTC}


@dataclass
class ApplyResult:
    updated: int = 0
    unchanged: int = 0
    unmatched: int = 0
    skipped: int = 0  # text that breaks the input boundary (screening.py)

    def add(self, other: ApplyResult) -> None:
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.unmatched += other.unmatched
        self.skipped += other.skipped


@transaction.atomic
def delivery_apply(
    *,
    account: ProviderAccount,
    records: Sequence[DeliveryRecord],
    source: str = ReceiptSource.PULL,
    candidates: Iterable[SentMessage] | None = None,
) -> ApplyResult:
    """Apply delivery records of one account: to their message if known, else keep them as receipts.

    candidates: the messages the caller already loaded that records without an id may be about.
    Records pass the input boundary first: see screening.py.
    """
    screened = screen_records(records)
    result = ApplyResult(skipped=len(records) - len(screened))
    records = screened
    messages = match_records(account=account, records=records, candidates=candidates)
    finals: dict[int, tuple[SentMessage, DeliveryRecord]] = {}
    for record, message in zip(records, messages, strict=True):
        if message is None:
            _receipt_store(account=account, record=record, source=source)
            result.unmatched += 1
        elif record.state == DeliveryState.PENDING or message.delivery_status in FINAL_STATES:
            _log_contradiction(account, message, record)
            result.unchanged += 1
        else:
            finals[message.pk] = (message, record)
    result.updated = _apply_final(finals.values())
    result.unchanged += len(finals) - result.updated
    return result


# The hot statement of every sync: plain SQL, because compiling the ORM's update per message cost
# more than the provider call itself (bench/sync). The status condition is what makes applying
# idempotent under races: a message resolved meanwhile by another worker is left alone.
APPLY_SQL = (
    f"UPDATE {SentMessage._meta.db_table} SET delivery_status = %s, error_code = %s, received_at = %s,"
    " updated_at = %s WHERE id = %s AND delivery_status IN (%s, %s)"
)


def _apply_final(pairs) -> int:
    ops, now, applied = connection.ops, timezone.now(), 0
    with connection.cursor() as cursor:
        for message, record in pairs:
            state, code = DeliveryStatus(record.state.value), record.error_code[:64]
            received = ops.adapt_datetimefield_value(record.received_at)
            params = [state, code, received, ops.adapt_datetimefield_value(now), message.pk, *OPEN_STATES]
            cursor.execute(APPLY_SQL, params)
            if cursor.rowcount:
                applied += 1
                message.delivery_status, message.error_code, message.received_at = state, code, record.received_at
    return applied


CONTRADICTION = "Ignored a %s receipt for %s message %s of account %s (id %s): already %s (row %s)"


def _log_contradiction(account: ProviderAccount, message: SentMessage, record: DeliveryRecord) -> None:
    if record.state != DeliveryState.PENDING and message.delivery_status != record.state.value:
        # Providers do not take back a final status; keep the first and say so, naming what an
        # operator searches by (the provider's message id), not only our primary key.
        logger.info(
            CONTRADICTION,
            record.state.value,
            account.provider,
            message.provider_message_id,
            account.name,
            account.pk,
            message.delivery_status,
            message.pk,
        )


def receipt_fingerprint(record: DeliveryRecord) -> str:
    """Two copies of one receipt share it: the message id when there is one, else what Alibaba's
    query rows say about the message (phone, send time, template, OutId, content)."""
    if record.message_id:
        return f"id:{record.message_id}"[:64]
    sent = record.sent_at.isoformat() if record.sent_at else ""
    raw = "|".join([record.phone, sent, record.template_code, record.out_id, record.content])
    return "row:" + hashlib.sha256(raw.encode()).hexdigest()[:56]


def _receipt_store(*, account: ProviderAccount, record: DeliveryRecord, source: str) -> None:
    receipt, created = DeliveryReceipt.objects.get_or_create(
        account=account,
        fingerprint=receipt_fingerprint(record),
        defaults=_receipt_fields(record, source),
    )
    # A later copy may carry the final status of a receipt first seen pending; never the reverse.
    if not created and receipt.matched_at is None and record.state != DeliveryState.PENDING:
        if receipt.state == DeliveryStatus.PENDING:
            DeliveryReceipt.objects.filter(pk=receipt.pk).update(
                **_receipt_fields(record, source), updated_at=timezone.now()
            )


def _receipt_fields(record: DeliveryRecord, source: str) -> dict:
    return dict(
        provider_message_id=record.message_id[:64],
        phone=record.phone[:20],
        state=DeliveryStatus(record.state.value),
        error_code=record.error_code[:64],
        received_at=record.received_at,
        sent_at=record.sent_at,
        template_code=record.template_code[:64],
        out_id=record.out_id[:64],
        source=source,
    )


def query_window_start(account: ProviderAccount, now: datetime | None = None) -> datetime:
    """The first instant the provider still answers for: midnight of its oldest queryable send date."""
    zone = DAY_ZONES[account.provider]
    today = (now or timezone.now()).astimezone(zone).date()
    first_day: date = today - timedelta(days=QUERY_WINDOW_DAYS[account.provider] - 1)
    return datetime.combine(first_day, time.min, tzinfo=zone)


@transaction.atomic
def delivery_expire_stale(*, account: ProviderAccount, now: datetime | None = None) -> int:
    """Pending messages older than the provider's query window become expired: nobody can ask anymore."""
    return SentMessage.objects.filter(
        account=account, delivery_status=DeliveryStatus.PENDING, sent_at__lt=query_window_start(account, now)
    ).update(delivery_status=DeliveryStatus.EXPIRED, updated_at=timezone.now())
