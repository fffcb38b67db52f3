"""Recording sent messages: one or a batch, idempotent on (account, provider message id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.messaging import phone as phones
from apps.messaging import sql
from apps.messaging.models import SentMessage
from apps.messaging.services import hooks
from apps.messaging.services.inputs import ItemResult, MessageInput, Outcome
from apps.providers.models import ProviderAccount
from apps.sms_templates.models import SmsTemplate


def message_record(*, account: ProviderAccount, item: MessageInput) -> ItemResult:
    return messages_record_batch(account=account, items=[item])[0]


def messages_record_batch(*, account: ProviderAccount, items: Sequence[MessageInput]) -> list[ItemResult]:
    """Store every new message; answer duplicates (already stored, or twice in this batch) as such.

    All or nothing per call: the rows are inserted in one transaction. An id that a concurrent
    request stores between our lookup and our insert is skipped by the insert (ON CONFLICT DO
    NOTHING, see sql.insert_new) and answered as a duplicate too.
    """
    try:
        return _record(account, items)
    except IntegrityError:  # a template deleted meanwhile: the retry no longer finds it
        return _record(account, items)


@transaction.atomic
def _record(account: ProviderAccount, items: Sequence[MessageInput]) -> list[ItemResult]:
    ids = {item.provider_message_id for item in items}
    existing = _stored_ids(account, ids)
    template_ids = _template_ids(account, {item.template_code for item in items if item.template_code})
    results: list[ItemResult] = []
    new: list[tuple[ItemResult, SentMessage]] = []
    seen: set[str] = set()
    now = timezone.now()
    for index, item in enumerate(items):
        if item.provider_message_id in existing or item.provider_message_id in seen:
            results.append(ItemResult(index, Outcome.DUPLICATE, existing.get(item.provider_message_id)))
            continue
        seen.add(item.provider_message_id)
        result = ItemResult(index, Outcome.CREATED)
        results.append(result)
        new.append((result, _build(account, item, template_ids.get(item.template_code), now)))
    created = _store(account, new)
    _fill_batch_duplicates(results, items, {m.provider_message_id: r.id for r, m in new})
    hooks.messages_recorded(created)
    return results


def _stored_ids(account: ProviderAccount, ids: set[str]) -> dict[str, int]:
    rows = SentMessage.objects.filter(account=account, provider_message_id__in=ids).order_by()
    return dict(rows.values_list("provider_message_id", "id"))


def _store(account: ProviderAccount, new: list[tuple[ItemResult, SentMessage]]) -> list[SentMessage]:
    """Insert the new messages; those another request stored first become duplicates of its rows."""
    messages = _insert([message for _, message in new])
    raced = {m.provider_message_id for m in messages if m.pk is None}
    earlier = _stored_ids(account, raced) if raced else {}
    for result, message in new:
        if message.pk is None:
            result.outcome, result.id = Outcome.DUPLICATE, earlier.get(message.provider_message_id)
        else:
            result.id = message.pk
    return [message for message in messages if message.pk is not None]


def _build(account: ProviderAccount, item: MessageInput, template_id: int | None, now: datetime) -> SentMessage:
    return SentMessage(
        account=account,
        provider_message_id=item.provider_message_id,
        phone=item.phone,
        country=phones.country_of(item.phone),  # bulk_create skips save(), which sets it otherwise
        template_id=template_id,
        template_code=item.template_code,
        content=item.content,
        out_id=item.out_id,
        trackable=item.trackable,
        sent_at=item.sent_at,
        created_at=now,
        updated_at=now,
    )


COLUMNS = (
    "account_id", "provider_message_id", "phone", "country", "template_id", "template_code", "content", "out_id",
    "trackable", "sent_at", "created_at", "updated_at",
)  # fmt: skip


def _insert(messages: list[SentMessage]) -> list[SentMessage]:
    """One set-based INSERT (sql.insert_new); the inserted instances get their ids, as bulk_create
    would give them; an id already stored leaves its instance without one."""
    rows = [tuple(getattr(m, name) for name in COLUMNS) for m in messages]
    ids = sql.insert_new(SentMessage, COLUMNS, rows, unique=("account_id", "provider_message_id"))
    for message, pk in zip(messages, ids, strict=True):
        if pk is not None:
            message.pk = pk
            message._state.adding, message._state.db = False, connection.alias
    return messages


def _template_ids(account: ProviderAccount, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = SmsTemplate.objects.filter(account=account, provider_template_code__in=codes)
    return dict(rows.values_list("provider_template_code", "id"))


def _fill_batch_duplicates(results: list[ItemResult], items: Sequence[MessageInput], created: dict[str, int]) -> None:
    # An id repeated inside one batch points at the row its first occurrence created.
    for result in results:
        if result.outcome == Outcome.DUPLICATE and result.id is None:
            result.id = created.get(items[result.index].provider_message_id)
