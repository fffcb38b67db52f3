"""The dashboard's numbers against a hand-computed fixture (tests/dashboard/fixture.py), in three time zones."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from apps.dashboard import selectors
from apps.dashboard.rollups import rollups_refresh
from apps.dashboard.selectors import Counts, Filters
from apps.providers.models import Provider
from tests.dashboard.fixture import at, load_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixture():
    data = load_fixture()
    rollups_refresh()
    return data


def counts(requested, accepted, delivered, verified) -> Counts:
    return Counts(requested=requested, accepted=accepted, delivered=delivered, verified=verified)


def by_day(f: Filters) -> dict[str, Counts]:
    return {start.strftime("%m-%d"): c for start, c in selectors.series(f)}


def test_daily_counts_in_utc_match_the_hand_counts(fixture):
    f = Filters(start=at(20, 0), end=at(22, 0), granularity="day")
    assert by_day(f) == {"11-20": counts(6, 5, 4, 4), "11-21": counts(1, 1, 1, 0)}
    assert selectors.totals(f).conversion_rate == pytest.approx(4 / 7)
    assert selectors.totals(f).delivery_rate == pytest.approx(5 / 7)


def test_days_follow_the_viewers_time_zone(fixture):
    shanghai = ZoneInfo("Asia/Shanghai")
    f = Filters(start=at(19, 16), end=at(21, 16), granularity="day", tz=shanghai)
    assert by_day(f) == {"11-20": counts(4, 4, 3, 2), "11-21": counts(3, 2, 2, 2)}
    new_york = ZoneInfo("America/New_York")
    f = Filters(start=at(20, 5), end=at(21, 5), granularity="day", tz=new_york)
    assert by_day(f) == {"11-20": counts(7, 6, 5, 4)}


def test_hourly_buckets_cover_every_hour_including_empty_ones(fixture):
    f = Filters(start=at(20, 0), end=at(21, 0), granularity="hour")
    points = {start.hour: c for start, c in selectors.series(f)}
    assert len(points) == 24
    assert points[9] == counts(3, 3, 3, 2)
    assert points[10] == counts(1, 1, 0, 0)
    assert points[16] == counts(1, 1, 1, 1) and points[23] == counts(1, 0, 0, 1)
    assert sum(c.requested for c in points.values()) == 6


def test_hour_labels_are_local_times(fixture):
    f = Filters(start=at(20, 9), end=at(20, 10), granularity="hour", tz=ZoneInfo("Asia/Shanghai"))
    [(start, c)] = selectors.series(f)
    assert start.strftime("%Y-%m-%d %H:%M") == "2026-11-20 17:00" and c.requested == 3


def test_breakdowns_by_provider_account_template_and_country(fixture):
    f = Filters(start=at(20, 0), end=at(22, 0))
    assert selectors.breakdown(f, "provider") == [("Alibaba Cloud", counts(4, 4, 3, 2)), ("Plivo", counts(3, 2, 2, 2))]
    assert selectors.breakdown(f, "country") == [("CN", counts(4, 4, 3, 2)), ("US", counts(3, 2, 2, 2))]
    assert selectors.breakdown(f, "template") == [("SMS_1", counts(4, 4, 3, 2)), ("(no template)", counts(3, 2, 2, 2))]
    aliyun = fixture["accounts"][Provider.ALIYUN]
    assert selectors.breakdown(f, "account")[0] == (aliyun.name, counts(4, 4, 3, 2))


def test_filters_combine(fixture):
    base = dict(start=at(20, 0), end=at(22, 0))
    assert selectors.totals(Filters(**base, provider="plivo")) == counts(3, 2, 2, 2)
    assert selectors.totals(Filters(**base, country="CN", template="SMS_1")) == counts(4, 4, 3, 2)
    assert selectors.totals(Filters(**base, provider="plivo", country="CN")) == counts(0, 0, 0, 0)
    aliyun = fixture["accounts"][Provider.ALIYUN]
    assert selectors.totals(Filters(**base, account=aliyun.pk)) == counts(4, 4, 3, 2)
    assert selectors.totals(Filters(start=at(20, 9), end=at(20, 10))) == counts(3, 3, 3, 2)


def test_funnel_and_comparison_per_provider_and_country(fixture):
    f = Filters(start=at(20, 0), end=at(22, 0))
    assert selectors.segments(f) == {("aliyun", "CN"): counts(4, 4, 3, 2), ("plivo", "US"): counts(3, 2, 2, 2)}
    countries, providers, data = selectors.comparison(f)
    assert countries == ["CN", "US"] and providers == ["aliyun", "plivo"]


def test_a_half_hour_zone_puts_each_utc_hour_on_the_local_date_of_its_start(fixture):
    from apps.dashboard.forms import DashboardForm
    from tests.factories import make_message

    # 18:45 UTC is 00:15 on 11-21 in India, but its UTC hour starts at 23:30 on 11-20: documented rule.
    make_message(fixture["accounts"][Provider.PLIVO], phone="+12125550099", sent_at=at(20, 18, 45))
    rollups_refresh()
    form = DashboardForm({"range": "custom", "start": "2026-11-21", "end": "2026-11-21", "tz": "Asia/Kolkata"})
    assert form.is_valid(), form.errors
    f = form.filters()
    assert (f.start, f.end) == (at(20, 19), at(21, 19))
    assert by_day(f) == {"11-21": counts(2, 1, 1, 1)}
    f = Filters(start=at(20, 0), end=at(21, 19), granularity="day", tz=ZoneInfo("Asia/Kolkata"))
    assert by_day(f)["11-20"].requested == 6
