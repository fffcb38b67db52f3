"""Recording conversions (one or a batch), idempotent per message, then queueing their reports."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.messaging import sql
from apps.messaging.models import CONVERSION_BEFORE_SEND, CONVERSION_IN_FUTURE, Conversion, ReportState, SentMessage
from apps.messaging.services import hooks
from apps.messaging.services.inputs import ConversionInput, ItemResult, Outcome
from apps.messaging.services.preconditions import unreportable_reason
from apps.providers.models import ProviderAccount

UNKNOWN_MESSAGE = "No message with this id was recorded for this account."
UNKNOWN_OUT_ID = "No message with this out_id was recorded for this account."
AMBIGUOUS_OUT_ID = "Several messages share this out_id; identify the message by message_id instead."
PENDING, SKIPPED = ReportState.PENDING.value, ReportState.SKIPPED.value  # plain str: enum lookups cost per item


@dataclass(frozen=True)
class _Message:
    id: int
    sent_at: datetime
    trackable: bool
    country: str
    conversion_id: int | None  # already converted: the new item is a duplicate


def conversion_record(*, account: ProviderAccount, item: ConversionInput) -> ItemResult:
    return conversions_record_batch(account=account, items=[item])[0]


def conversions_record_batch(*, account: ProviderAccount, items: Sequence[ConversionInput]) -> list[ItemResult]:
    """Store each conversion of a known message once; queue the reportable ones after commit.

    A second submission for the same message writes nothing and is answered as a duplicate (and
    counted on the stored conversion). Bad items are answered with their errors; the good ones of
    the same batch are stored all the same.
    """
    try:
        return _record(account, items)
    except IntegrityError:  # a message erased between lookup and insert: the retry no longer finds it
        return _record(account, items)


def _record(account: ProviderAccount, items: Sequence[ConversionInput]) -> list[ItemResult]:
    # One item writes one statement (the INSERT, or the duplicate count), atomic on its own, unless
    # another request stored it meanwhile: without BEGIN and COMMIT the single-conversion path saves
    # two round trips (issue 4 benchmark). Inside a caller's transaction it takes a savepoint, so the
    # IntegrityError retry works.
    with transaction.atomic() if len(items) > 1 or connection.in_atomic_block else nullcontext():
        return _record_in_transaction(account, items)


def _record_in_transaction(account: ProviderAccount, items: Sequence[ConversionInput]) -> list[ItemResult]:
    now = timezone.now()
    messages = _resolve_messages(account, items)
    existing = {m.id: m.conversion_id for m in messages.values() if m and m.conversion_id}
    results: list[ItemResult] = []
    new: list[tuple[ItemResult, tuple]] = []
    batch_duplicates: list[tuple[ItemResult, int]] = []  # same message twice in this batch
    for index, item in enumerate(items):
        message, errors = _check(item, messages, now)
        if errors:
            results.append(ItemResult.error(index, errors))
        elif message.id in existing:
            results.append(ItemResult(index, Outcome.DUPLICATE, existing[message.id]))
            if existing[message.id] is None:
                batch_duplicates.append((results[-1], message.id))
        else:
            result = ItemResult(index, Outcome.CREATED)
            results.append(result)
            new.append((result, _row(account, item, message)))
            existing[message.id] = None
    ids = sql.insert_new(Conversion, COLUMNS, [row for _, row in new], unique=("message_id",))
    _finish(results, new, ids, batch_duplicates)
    created = [pk for pk in ids if pk is not None]
    if hooks.wants_conversions():
        hooks.conversions_recorded(list(Conversion.objects.filter(pk__in=created)))
    pending = [pk for pk, (_, row) in zip(ids, new, strict=True) if pk is not None and row[3] == PENDING]
    _queue_reports(account, pending)
    return results


def _resolve_messages(account: ProviderAccount, items: Sequence[ConversionInput]) -> dict[tuple[str, str], _Message]:
    """(kind, value) -> the message; None when out_id is ambiguous; missing when unknown."""
    by_id = {i.provider_message_id for i in items if i.provider_message_id}
    by_out = {i.out_id for i in items if i.out_id and not i.provider_message_id}
    # One query per kind, the existing conversion joined in: no separate duplicate lookup.
    found: dict[tuple[str, str], _Message | None] = {}
    if by_id:
        for row in _message_rows(account, "provider_message_id", by_id):
            found[("id", row[5])] = _Message(*row[:5])
    if by_out:
        for row in _message_rows(account, "out_id", by_out):
            key = ("out", row[6])
            found[key] = _Message(*row[:5]) if key not in found else None
    return found


FIELDS = ("id", "sent_at", "trackable", "country", "conversion__id", "provider_message_id", "out_id")


def _message_rows(account: ProviderAccount, column: str, values: set[str]) -> list[tuple]:
    if connection.vendor == "postgresql":
        return sql.message_rows(account.pk, column, values)
    rows = SentMessage.objects.filter(account=account, **{f"{column}__in": values}).order_by()
    return list(rows.values_list(*FIELDS))


def _check(item: ConversionInput, messages: dict, now: datetime) -> tuple[_Message | None, dict[str, str]]:
    if item.provider_message_id:
        message = messages.get(("id", item.provider_message_id))
        if message is None:
            return None, {"message_id": UNKNOWN_MESSAGE}
    else:
        key = ("out", item.out_id)
        if key not in messages:
            return None, {"out_id": UNKNOWN_OUT_ID}
        message = messages[key]
        if message is None:
            return None, {"out_id": AMBIGUOUS_OUT_ID}
    if item.converted_at <= message.sent_at:
        return None, {"converted_at": CONVERSION_BEFORE_SEND.format(sent_at=message.sent_at.isoformat())}
    if item.converted_at > now:
        return None, {"converted_at": CONVERSION_IN_FUTURE}
    return message, {}


COLUMNS = ("message_id", "status", "converted_at", "report_state", "last_error")


def _row(account: ProviderAccount, item: ConversionInput, message: _Message) -> tuple:
    """The new conversion's values, in the order of COLUMNS (the other fields take their defaults)."""
    reason = unreportable_reason(
        account=account, status=item.status, trackable=message.trackable, country=message.country
    )
    return (message.id, item.status, item.converted_at, SKIPPED if reason else PENDING, reason)


def _finish(results: list[ItemResult], new: list, ids: list[int | None], batch_duplicates: list[tuple]) -> None:
    """Give each answer its id; count a repeat once on each conversion stored before this request."""
    raced = [row[0] for (_, row), pk in zip(new, ids, strict=True) if pk is None]
    earlier = _conversion_ids(raced) if raced else {}
    by_message = {}
    for (result, row), pk in zip(new, ids, strict=True):
        if pk is None:  # another request stored this message's conversion since our lookup
            result.outcome, pk = Outcome.DUPLICATE, earlier.get(row[0])
        result.id = by_message[row[0]] = pk
    for result, message_id in batch_duplicates:
        result.id = by_message[message_id]
    created = set(ids)
    repeated = {r.id for r in results if r.outcome == Outcome.DUPLICATE and r.id is not None and r.id not in created}
    if repeated:
        sql.count_duplicate_submissions(sorted(repeated))


def _conversion_ids(message_ids: list[int]) -> dict[int, int]:
    return dict(Conversion.objects.filter(message_id__in=message_ids).values_list("message_id", "id"))


def _queue_reports(account: ProviderAccount, ids: list[int]) -> None:
    from apps.messaging import jobs  # jobs import services: import here to keep the graph acyclic

    if ids:
        jobs.queue_reports(account.pk, ids)
