"""Recording conversions (one or a batch), idempotent per message, then queueing their reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.messaging.models import CONVERSION_BEFORE_SEND, CONVERSION_IN_FUTURE, Conversion, ReportState, SentMessage
from apps.messaging.services import hooks
from apps.messaging.services.bulk import insert_rows
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
    except IntegrityError:  # a concurrent request stored one of these first: now it is a duplicate
        return _record(account, items)


def _record(account: ProviderAccount, items: Sequence[ConversionInput]) -> list[ItemResult]:
    # One item writes at most one statement (the INSERT, or the duplicate count), atomic on its own:
    # without BEGIN and COMMIT the single-conversion path saves two round trips (issue 4 benchmark).
    # Inside a caller's transaction it still takes a savepoint, so the IntegrityError retry works.
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
    ids = insert_rows(Conversion, COLUMNS, [row for _, row in new])
    _finish(results, new, ids, batch_duplicates)
    if hooks.wants_conversions():
        hooks.conversions_recorded(list(Conversion.objects.filter(pk__in=ids)))
    pending = [pk for pk, (_, row) in zip(ids, new, strict=True) if row[3] == PENDING]
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
# The same lookup as one fixed statement on PostgreSQL: building the ORM query cost more CPU than
# running it for a single conversion. = ANY(array) is one parameter instead of up to 1,000, sent as
# JSON text; one value is compared as it is, since adapting an array of one cost more than the query.
MESSAGE_ROWS_SQL = (
    "SELECT m.id, m.sent_at, m.trackable, m.country, c.id, m.provider_message_id, m.out_id "
    "FROM messaging_sentmessage m LEFT JOIN messaging_conversion c ON c.message_id = m.id "
    "WHERE m.account_id = %s AND m.{column} {match}"
)


def _message_rows(account: ProviderAccount, column: str, values: set[str]) -> list[tuple]:
    if connection.vendor != "postgresql":
        rows = SentMessage.objects.filter(account=account, **{f"{column}__in": values}).order_by()
        return list(rows.values_list(*FIELDS))
    if len(values) == 1:
        sql, param = MESSAGE_ROWS_SQL.format(column=column, match="= %s"), next(iter(values))
    else:
        match = "= ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"  # json.dumps beats adapting an array
        sql, param = MESSAGE_ROWS_SQL.format(column=column, match=match), json.dumps(list(values))
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk, param])
        return cursor.fetchall()


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


def _finish(results: list[ItemResult], new: list, ids: list[int], batch_duplicates: list[tuple[ItemResult, int]]):
    by_message = {}
    for (result, row), pk in zip(new, ids, strict=True):
        result.id = by_message[row[0]] = pk
    for result, message_id in batch_duplicates:
        result.id = by_message[message_id]
    created = set(ids)
    earlier = [r.id for r in results if r.outcome == Outcome.DUPLICATE and r.id not in created]
    if earlier:
        Conversion.objects.filter(pk__in=earlier).update(duplicate_submissions=F("duplicate_submissions") + 1)


def _queue_reports(account: ProviderAccount, ids: list[int]) -> None:
    from apps.messaging import jobs  # jobs import services: import here to keep the graph acyclic

    if ids:
        jobs.queue_reports(account.pk, ids)
