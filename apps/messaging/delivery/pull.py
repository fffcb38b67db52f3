"""The delivery pull: ask the provider about pending messages in as few calls as its API allows.

Pending messages are grouped by (provider send date, phone): one Alibaba QuerySendDetails page (50
rows) covers every message of one phone on one day, so a group costs ceil(records / page size) calls,
the minimum. Where one query spans several days (ProviderClient.delivery_range_days: Tencent's
PullSmsSendStatusByPhoneNumber takes BeginTime/EndTime over the last 7 days, 100 rows a call) there is
one group per phone, from its oldest pending send date to today. Plivo answers one message per
detail call and 20 per list page: a lone message is asked by id, a phone's several messages by list.
Groups run in key order on a few threads (SYNC_WORKERS); the run's cursor records the finished groups
and pages (apps/providers/sync/ordered.py), so a resumed run skips what is done and continues
mid-group at the next page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.messaging.delivery.receipts import match_stored_receipts
from apps.messaging.delivery.services import delivery_apply, delivery_expire_stale, query_window_start
from apps.messaging.models import DeliveryStatus, ReceiptSource, SentMessage
from apps.providers.clients.base import DeliveryQuery, ErrorKind, ProviderClient, ProviderError
from apps.providers.models import Provider, ProviderAccount
from apps.providers.sync.ordered import OrderedProgress, run_ordered

# What matching and applying read of a message (apps/messaging/delivery/matching.py).
MATCH_FIELDS = ("id", "account_id", "provider_message_id", "phone", "sent_at", "template_code", "out_id")
MATCH_FIELDS += ("delivery_status",)
PAGE_SIZES = {Provider.ALIYUN: 50, Provider.TENCENT: 100, Provider.PLIVO: 20}
# Keys of per-phone range groups: "range|+phone". They sort after every "YYYY-MM-DD|" key, so a run
# resuming a cursor written by day groups redoes them rather than skipping any.
RANGE_KEY = "range"


@dataclass(frozen=True)
class Group:
    key: str  # "YYYY-MM-DD|+phone": groups sort by day, then phone
    phone: str
    day: date
    message_id: str = ""  # set when one id-query is cheaper than a list (Plivo, a lone message)
    until: date | None = None  # a range group (Tencent): the phone's pending messages from `day` to `until`

    @property
    def label(self) -> str:
        return f"{self.phone} from {self.day} to {self.until}" if self.until else f"{self.phone} on {self.day}"


def plan_groups(
    *, account: ProviderAccount, client: ProviderClient, message_ids: list[int] | None = None
) -> list[Group]:
    """The (day, phone) groups of the account's pending messages inside the provider's query window."""
    # Not past the input window either: a far-future time stored before it existed cannot be asked
    # about, and its send day past year 9999 in the provider's zone would overflow.
    latest = timezone.now() + timedelta(seconds=settings.INPUT_FUTURE_TOLERANCE_SECONDS)
    pending = SentMessage.objects.filter(
        account=account,
        delivery_status=DeliveryStatus.PENDING,
        sent_at__gte=query_window_start(account),
        sent_at__lte=latest,
    )
    if message_ids is not None:
        pending = pending.filter(pk__in=message_ids)
    rows = pending.order_by().values_list("phone", "sent_at", "provider_message_id")
    if client.delivery_range_days > 1:
        return _range_groups(rows, client)
    seen: dict[tuple[date, str], list[str]] = {}
    for phone, sent_at, message_id in rows.iterator(chunk_size=5000):
        ids = seen.setdefault((client.send_day(sent_at), phone), [])
        if len(ids) < 2:
            ids.append(message_id)
    by_id = account.provider == Provider.PLIVO
    groups = [
        Group(f"{day.isoformat()}|{phone}", phone, day, ids[0] if by_id and len(ids) == 1 else "")
        for (day, phone), ids in seen.items()
    ]
    return sorted(groups, key=lambda g: g.key)


def _range_groups(rows, client: ProviderClient) -> list[Group]:
    """One group per phone, from its oldest pending send date to today: a single query (and its
    pages) covers them all. The provider's query window (QUERY_WINDOW_DAYS, pending messages older
    than it are expired first) is no longer than delivery_range_days, so one range always fits."""
    first: dict[str, date] = {}
    for phone, sent_at, _ in rows.iterator(chunk_size=5000):
        day = client.send_day(sent_at)
        if phone not in first or day < first[phone]:
            first[phone] = day
    today = client.send_day(timezone.now())
    groups = [Group(f"{RANGE_KEY}|{phone}", phone, day, until=max(day, today)) for phone, day in first.items()]
    return sorted(groups, key=lambda g: g.key)


def sync_delivery(ctx) -> None:
    """The delivery worker of apps.providers.sync.engine (ctx: SyncContext)."""
    account, cursor = ctx.account, ctx.cursor
    scope_ids = ctx.run.scope.get("messages")
    if scope_ids is None:
        delivery_expire_stale(account=account)
        match_stored_receipts(account=account)
    groups = plan_groups(account=account, client=ctx.client, message_ids=scope_ids)
    todo = set(OrderedProgress.pending([g.key for g in groups], cursor))
    groups = [g for g in groups if g.key in todo]
    progress = OrderedProgress([g.key for g in groups], cursor)
    ctx.set_total(len(groups))
    run_ordered(groups, lambda group: _sync_group(ctx, group, progress), progress=progress, workers=ctx.workers)


def _candidates(account: ProviderAccount, group: Group) -> list[SentMessage]:
    day_start = datetime.combine(group.day, time.min, tzinfo=UTC)
    last_start = datetime.combine(group.until or group.day, time.min, tzinfo=UTC)
    # A generous window around the provider's days: its date may be China time, ours UTC.
    return list(
        SentMessage.objects.filter(
            account=account,
            phone=group.phone,
            sent_at__gte=day_start - timedelta(hours=12),
            sent_at__lt=last_start + timedelta(hours=36),
        ).only(*MATCH_FIELDS)
    )


def _sync_group(ctx, group: Group, progress: OrderedProgress) -> None:
    account = ctx.account
    client = ctx.thread_client()
    candidates = _candidates(account, group)
    page, next_cursor = progress.start(group.key)
    while True:
        query = DeliveryQuery(
            phone=group.phone,
            day=group.day,
            message_id=group.message_id,
            page=page,
            page_size=PAGE_SIZES[account.provider],
            cursor=next_cursor,
            until=group.until,
        )
        try:
            result = ctx.call(client.delivery_status, query)
        except ProviderError as error:
            if error.kind != ErrorKind.INVALID:
                raise
            with progress.lock:
                ctx.skip(label=group.label, error=error, cursor=progress.group_finished(group.key))
            return
        # The page's statuses and the run's resume point commit together: one commit per page.
        with transaction.atomic():
            applied = delivery_apply(
                account=account, records=result.records, source=ReceiptSource.PULL, candidates=candidates
            )
            with progress.lock:
                if result.has_more:
                    cursor = progress.page_finished(group.key, page, result.next_cursor)
                else:
                    cursor = progress.group_finished(group.key)
                ctx.page_done(
                    cursor=cursor, seen=len(result.records), updated=applied.updated, unit_finished=not result.has_more
                )
        if not result.has_more:
            return
        page, next_cursor = page + 1, result.next_cursor
