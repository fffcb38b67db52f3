"""GET /api/v1/stats: requested, verified and conversion rate for a period, for the token's account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.messaging.models import ConversionStatus, SentMessage
from apps.providers.models import ProviderAccount

GROUPS = {"provider": "account__provider", "account": "account_id", "template": "template_code", "country": "country"}
BAD_MOMENT = "Must be an ISO 8601 date (2026-11-23) or date and time with a time zone (2026-11-23T08:00:00Z)."
END_BEFORE_START = "end must be after start."
BAD_GROUP = "Unknown grouping {value!r}: use any of provider, account, template, country, comma-separated."
DEFAULT_PERIOD = timedelta(days=1)


@dataclass(frozen=True)
class StatsQuery:
    start: datetime
    end: datetime
    group_by: tuple[str, ...]
    provider: str = ""
    template: str = ""
    country: str = ""


def _moment(value: str) -> datetime | None:
    try:
        if len(value) == 10:  # a day: midnight in the display time zone
            day = parse_date(value)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone()) if day else None
        parsed = parse_datetime(value)
    except ValueError:
        return None
    return parsed if parsed is not None and timezone.is_aware(parsed) else None


def parse_query(params) -> tuple[StatsQuery | None, dict[str, str]]:
    errors: dict[str, str] = {}
    now = timezone.now()
    moments = {}
    for name, default in (("start", now - DEFAULT_PERIOD), ("end", now)):
        raw = params.get(name, "").strip()
        moments[name] = _moment(raw) if raw else default
        if moments[name] is None:
            errors[name] = BAD_MOMENT
    if not errors and moments["end"] <= moments["start"]:
        errors["end"] = END_BEFORE_START
    group_by = tuple(g.strip() for g in params.get("group_by", "").split(",") if g.strip())
    for group in group_by:
        if group not in GROUPS:
            errors["group_by"] = BAD_GROUP.format(value=group[:40])
    if errors:
        return None, errors
    filters = {name: params.get(name, "").strip() for name in ("provider", "template", "country")}
    return StatsQuery(start=moments["start"], end=moments["end"], group_by=group_by, **filters), {}


def conversion_stats(*, account: ProviderAccount, query: StatsQuery) -> dict:
    rows = SentMessage.objects.filter(account=account, sent_at__gte=query.start, sent_at__lt=query.end)
    if query.provider:
        rows = rows.filter(account__provider=query.provider)
    if query.template:
        rows = rows.filter(template_code=query.template)
    if query.country:
        rows = rows.filter(country=query.country.upper())
    fields = [GROUPS[g] for g in query.group_by]
    verified = Count("conversion", filter=Q(conversion__status=ConversionStatus.CONVERTED))
    groups = rows.values(*fields).annotate(requested=Count("id"), verified=verified).order_by(*fields)
    return {
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
        "account": account.pk,
        "totals": _figures(rows.aggregate(requested=Count("id"), verified=verified)),
        "groups": [_group(row, query.group_by) for row in groups] if query.group_by else [],
    }


def _figures(row: dict) -> dict:
    requested, verified = row["requested"], row["verified"]
    return {
        "requested": requested,
        "verified": verified,
        "conversion_rate": round(verified / requested, 4) if requested else None,
    }


def _group(row: dict, group_by: tuple[str, ...]) -> dict:
    return {**{g: row[GROUPS[g]] for g in group_by}, **_figures(row)}
