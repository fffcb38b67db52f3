"""Dashboard reads. Everything is answered from HourlyStat (see rollups.py), never the raw tables.

Rates: conversion = verified / requested (the providers' OTP conversion formula); delivery =
delivered / requested. Buckets are in the viewer's time zone: an hour bucket is one UTC hour
labelled in local time; a day bucket holds the UTC hours whose start falls on that local date
(exact for every whole-hour offset; see docs/decisions.md for half-hour zones).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F, Sum
from django.db.models.functions import TruncDay

from apps.dashboard.models import HourlyStat, SegmentHourStat
from apps.providers.models import Provider, ProviderAccount

COUNTS = ("requested", "accepted", "delivered", "verified")
BREAKDOWNS = {
    "provider": "segment_provider",
    "account": "account",
    "template": "template_code",
    "country": "country",
}


@dataclass(frozen=True)
class Filters:
    start: datetime  # UTC, on an hour boundary
    end: datetime  # exclusive
    granularity: str = "day"
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    provider: str = ""
    account: int | None = None
    template: str = ""
    country: str = ""


@dataclass
class Counts:
    requested: int = 0
    accepted: int = 0
    delivered: int = 0
    verified: int = 0

    @property
    def conversion_rate(self) -> float | None:
        return self.verified / self.requested if self.requested else None

    @property
    def delivery_rate(self) -> float | None:
        return self.delivered / self.requested if self.requested else None

    def add(self, other: Counts) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _sums() -> dict:
    return {name: Sum(name) for name in COUNTS}


def _counts(row: dict) -> Counts:
    return Counts(**{name: int(row.get(name) or 0) for name in COUNTS})


def stats_queryset(f: Filters, *, start: datetime | None = None, detailed: bool = False):
    """Rollup rows of the range and filters, each with its provider as `segment_provider`. Per-segment
    rows (SegmentHourStat) unless an account or template filter or breakdown needs the detailed ones."""
    if detailed or f.account or f.template:
        qs = HourlyStat.objects.annotate(segment_provider=F("account__provider"))
    else:
        qs = SegmentHourStat.objects.annotate(segment_provider=F("provider"))
    qs = qs.filter(hour__gte=start or f.start, hour__lt=f.end)
    if f.provider:
        qs = qs.filter(segment_provider=f.provider)
    if f.account:
        qs = qs.filter(account_id=f.account)
    if f.template:
        qs = qs.filter(template_code=f.template)
    if f.country:
        qs = qs.filter(country=f.country)
    return qs


def totals(f: Filters) -> Counts:
    return _counts(stats_queryset(f).aggregate(**_sums()))


def buckets(f: Filters) -> list[datetime]:
    """Every bucket start in the range (aware, in f.tz), including empty ones."""
    if f.granularity == "hour":
        count = int((f.end - f.start) / timedelta(hours=1))
        return [(f.start + timedelta(hours=i)).astimezone(f.tz) for i in range(count)]
    first = f.start.astimezone(f.tz).date()
    last = (f.end - timedelta(hours=1)).astimezone(f.tz).date()
    days = (last - first).days + 1
    return [datetime.combine(first + timedelta(days=i), datetime.min.time(), tzinfo=f.tz) for i in range(days)]


def series(f: Filters) -> list[tuple[datetime, Counts]]:
    """(bucket start, counts) for every bucket of the range, in order."""
    qs, key = stats_queryset(f), "hour"
    if f.granularity == "day":
        qs, key = qs.annotate(bucket=TruncDay("hour", tzinfo=f.tz)), "bucket"
    rows = qs.values(key).annotate(**_sums()).order_by()
    found = {_local(row[key], f): _counts(row) for row in rows}
    return [(start, found.get(start, Counts())) for start in buckets(f)]


def _local(moment: datetime, f: Filters) -> datetime:
    return moment.astimezone(f.tz)


def breakdown(f: Filters, by: str) -> list[tuple[str, Counts]]:
    """(label, counts) per provider, account, template or country, largest first."""
    column = BREAKDOWNS[by]
    qs = stats_queryset(f, detailed=by in ("account", "template"))
    rows = qs.values(column).annotate(**_sums()).order_by("-requested", column)
    names = _labels(by)
    return [(names(row[column]), _counts(row)) for row in rows]


def _labels(by: str):
    if by == "provider":
        return lambda value: Provider(value).label if value in Provider.values else value
    if by == "account":
        accounts = dict(ProviderAccount.objects.values_list("pk", "name"))
        return lambda value: accounts.get(value, f"account {value}")
    if by == "template":
        return lambda value: value or "(no template)"
    return lambda value: value


def segments(f: Filters) -> dict[tuple[str, str], Counts]:
    """Counts per (provider, country): the funnel and the cross-provider comparison."""
    rows = stats_queryset(f).values("segment_provider", "country").annotate(**_sums())
    return {(row["segment_provider"], row["country"]): _counts(row) for row in rows}


def comparison(f: Filters) -> tuple[list[str], list[str], dict[tuple[str, str], Counts]]:
    """(countries by volume, providers present, counts per (provider, country))."""
    data = segments(f)
    volume: dict[str, int] = defaultdict(int)
    for (_provider, country), counts in data.items():
        volume[country] += counts.requested
    countries = sorted(volume, key=lambda c: (-volume[c], c))
    providers = [p for p in Provider.values if any(key[0] == p for key in data)]
    return countries, providers, data


def segment_series(f: Filters, *, start: datetime | None = None, by_day: bool = False):
    """{(provider, country): {bucket start: Counts}}, buckets of f's granularity or days."""
    qs = stats_queryset(f, start=start)
    key = "hour"
    if by_day or f.granularity == "day":
        qs, key = qs.annotate(bucket=TruncDay("hour", tzinfo=f.tz)), "bucket"
    result: dict[tuple[str, str], dict[datetime, Counts]] = defaultdict(dict)
    for row in qs.values(key, "segment_provider", "country").annotate(**_sums()):
        result[(row["segment_provider"], row["country"])][_local(row[key], f)] = _counts(row)
    return result


def filter_choices(f: Filters) -> dict:
    """What the filter form offers: accounts, and the templates and countries with traffic in the range."""
    detailed = HourlyStat.objects.filter(hour__gte=f.start, hour__lt=f.end)
    segments = SegmentHourStat.objects.filter(hour__gte=f.start, hour__lt=f.end)
    return {
        "accounts": list(ProviderAccount.objects.order_by("name").values_list("pk", "name")),
        "templates": list(detailed.order_by("template_code").values_list("template_code", flat=True).distinct()),
        "countries": list(segments.order_by("country").values_list("country", flat=True).distinct()),
    }
