"""Rollups equal the raw rows after every kind of write, whoever makes it."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from apps.dashboard import selectors
from apps.dashboard.demo import load_demo
from apps.dashboard.models import DirtyHour, HourlyStat
from apps.dashboard.rollups import floor_hour, rollups_rebuild_all, rollups_refresh
from apps.dashboard.selectors import Counts, Filters
from apps.dashboard.triggers import drop_triggers, ensure_triggers
from apps.messaging.models import Conversion, ConversionStatus, DeliveryStatus, SentMessage
from tests.dashboard.fixture import at, load_fixture
from tests.factories import make_account, make_conversion, make_message

pytestmark = pytest.mark.django_db


def raw_series(f: Filters) -> dict[datetime, Counts]:
    """The same numbers straight from the raw rows, bucketed by the rule in selectors.py."""
    verified = set(Conversion.objects.filter(status=ConversionStatus.CONVERTED).values_list("message_id", flat=True))
    result: dict[datetime, Counts] = defaultdict(Counts)
    rows = SentMessage.objects.filter(sent_at__gte=f.start, sent_at__lt=f.end)
    for pk, sent_at, status in rows.values_list("pk", "sent_at", "delivery_status"):
        start = floor_hour(sent_at.astimezone(UTC)).astimezone(f.tz)
        if f.granularity == "day":
            start = datetime.combine(start.date(), datetime.min.time(), tzinfo=f.tz)
        c = result[start]
        c.requested += 1
        c.accepted += status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
        c.delivered += status == DeliveryStatus.DELIVERED
        c.verified += pk in verified
    return dict(result)


def dashboard_series(f: Filters) -> dict[datetime, Counts]:
    rollups_refresh()
    return {start: c for start, c in selectors.series(f) if c.requested}


def whole_range(granularity="day", tz="UTC") -> Filters:
    return Filters(start=at(1, 0) - timedelta(days=60), end=at(30, 0), granularity=granularity, tz=ZoneInfo(tz))


def test_every_kind_of_write_is_reflected_after_a_refresh():
    data = load_fixture()
    f = whole_range("hour")
    assert dashboard_series(f) == raw_series(f)
    m1, m3, m6 = data["messages"]["m1"], data["messages"]["m3"], data["messages"]["m6"]
    SentMessage.objects.filter(pk=m6.pk).update(delivery_status=DeliveryStatus.DELIVERED)  # a receipt
    m3.sent_at = at(22, 7)  # moved to another hour: both hours change
    m3.save()
    Conversion.objects.filter(message=m1).update(status=ConversionStatus.NOT_CONVERTED)
    make_conversion(m3, status=ConversionStatus.CONVERTED, converted_at=at(22, 8))
    data["messages"]["m2"].delete()  # cascades to its conversion
    SentMessage.objects.bulk_create(
        [
            SentMessage(
                account=m1.account, provider_message_id="b1", phone="+8613900000001", country="CN", sent_at=at(21, 3)
            )
        ]
    )
    assert dashboard_series(f) == raw_series(f)
    assert HourlyStat.objects.filter(hour=at(20, 10)).count() == 0  # m3 left that hour
    # Per-provider-and-country rows (no account/template filter) and detailed rows give the same totals.
    everything = selectors.totals(Filters(start=f.start, end=f.end))
    per_account = [selectors.totals(Filters(start=f.start, end=f.end, account=a.pk)) for a in data["accounts"].values()]
    assert everything.requested == sum(c.requested for c in per_account) == SentMessage.objects.count()
    assert everything.verified == sum(c.verified for c in per_account)


def test_writes_that_change_no_count_mark_nothing():
    data = load_fixture()
    rollups_refresh()
    Conversion.objects.filter(message=data["messages"]["m1"]).update(report_attempts=3, last_error="timeout")
    SentMessage.objects.filter(pk=data["messages"]["m1"].pk).update(error_code="DELIVRD")
    assert not DirtyHour.objects.exists()
    assert rollups_refresh() == 0


def test_the_demo_numbers_equal_the_raw_rows_in_any_time_zone():
    load_demo(messages_scale=0.05)
    now = timezone.now()
    for tz in ("UTC", "Asia/Shanghai", "America/New_York"):  # New York crosses the end of DST (1 Nov)
        f = Filters(
            start=floor_hour(now) - timedelta(days=32), end=floor_hour(now) + timedelta(hours=1), tz=ZoneInfo(tz)
        )
        assert dashboard_series(f) == raw_series(f), tz
    f = Filters(start=floor_hour(now) - timedelta(days=2), end=floor_hour(now) + timedelta(hours=1), granularity="hour")
    assert dashboard_series(f) == raw_series(f)


def test_a_refresh_with_nothing_new_rebuilds_nothing():
    make_message(sent_at=at(20, 9))
    assert rollups_refresh() == 1
    assert rollups_refresh() == 0


def test_missing_triggers_are_recreated_and_every_hour_rebuilt():
    load_fixture()
    rollups_refresh()
    drop_triggers(connection)
    make_message(phone="+8613800000042", sent_at=at(20, 11))  # unseen: no trigger
    assert ensure_triggers(connection) is True
    assert ensure_triggers(connection) is False
    f = whole_range()
    assert dashboard_series(f) == raw_series(f)


def test_a_full_rebuild_gives_the_same_rows():
    load_fixture()
    rollups_refresh()
    before = sorted(
        HourlyStat.objects.values_list("hour", "account", "template_code", "country", "requested", "verified")
    )
    rollups_rebuild_all()
    after = sorted(
        HourlyStat.objects.values_list("hour", "account", "template_code", "country", "requested", "verified")
    )
    assert before == after and len(after) == 6


@pytest.mark.skipif(connection.vendor != "postgresql", reason="JIT and statement triggers are PostgreSQL's")
def test_a_large_update_does_not_leave_later_writes_jit_compiled():
    """PL/pgSQL plans a trigger's query once per connection, with the row count of the first statement's
    transition table. After a large UPDATE (a bulk re-send, the sweep) that plan looked costly enough for
    JIT, and every later one-row write on the connection paid about 300 ms of compilation for it."""
    with connection.cursor() as cursor:  # as a database migrated before the fix has it
        cursor.execute("ALTER FUNCTION dashboard_dirty_from_conversions() RESET jit")
    assert ensure_triggers(connection) is False  # the triggers were there: only the function is replaced
    account = make_account()
    messages = SentMessage.objects.bulk_create(
        SentMessage(account=account, provider_message_id=f"bulk-{n}", phone=f"+86139{n:08d}", sent_at=at(20, 9))
        for n in range(3000)
    )
    Conversion.objects.bulk_create(
        Conversion(message=m, status=ConversionStatus.CONVERTED, converted_at=at(20, 10)) for m in messages
    )
    Conversion.objects.update(status=ConversionStatus.NOT_CONVERTED)  # the first UPDATE: the plan is made here
    plans = []
    with connection.cursor() as cursor:
        cursor.connection.add_notice_handler(lambda notice: plans.append(notice.message_primary))
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute(
            "SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL auto_explain.log_nested_statements = on; "
            "SET LOCAL client_min_messages = log"
        )
        Conversion.objects.filter(message=messages[0]).update(status=ConversionStatus.CONVERTED)
        cursor.execute("SET LOCAL auto_explain.log_min_duration = -1")
    trigger_plans = [plan for plan in plans if "INSERT INTO dashboard_dirtyhour" in plan]
    assert trigger_plans, plans  # the one-row UPDATE ran the trigger, and its plan was seen
    assert not [plan for plan in trigger_plans if "JIT:" in plan]
