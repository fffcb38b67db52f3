"""GET /api/v1/stats: requested, verified and conversion rate for a period, for the token's account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from apps.messaging.api.fields import DAY_OR_MOMENT, Field
from apps.messaging.api.parsing import NO_SUCH_DAY, read_value
from apps.messaging.models import ConversionStatus, SentMessage
from apps.providers.models import ProviderAccount
from smsdash.boundary import moment_rule

GROUPS = {"provider": "account__provider", "account": "account_id", "template": "template_code", "country": "country"}
BAD_MOMENT = "Must be a date (2026-11-23) or an RFC 3339 date and time with an offset (2026-11-23T08:00:00Z)."
PERIOD_TOO_LATE = "Must be before the year 9000."
END_BEFORE_START = "end must be after start."
BAD_GROUP = "Unknown grouping {value!r}: use any of provider, account, template, country, comma-separated."
UNKNOWN_PARAMETER = "Unknown parameter: the accepted ones are {names}."
REPEATED = "Give this parameter once."
DEFAULT_PERIOD = timedelta(days=1)
# A period may reach into the future (end=tomorrow); only years past 9000 are refused, as converting
# them to UTC can overflow.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

PARAMS = (
    Field("start", DAY_OR_MOMENT, nullable=False, description="Period start: a date (midnight in the server's "
          "time zone) or an RFC 3339 date and time; not before INPUT_EARLIEST_DATE; default: 24 hours ago"),
    Field("end", DAY_OR_MOMENT, nullable=False, description="Period end, exclusive, same formats; default: now"),
    Field("provider", max_length=16, nullable=False, description="Filter: aliyun, tencent or plivo"),
    Field("account", max_length=80, nullable=False, description="Your account id or name (another account: 403)"),
    Field("template", max_length=64, nullable=False, description="Filter: template code"),
    Field("country", max_length=2, nullable=False, description="Filter: ISO 3166 code, e.g. CN"),
)  # fmt: skip


@dataclass(frozen=True)
class StatsQuery:
    start: datetime
    end: datetime
    group_by: tuple[str, ...]
    provider: str = ""
    template: str = ""
    country: str = ""


def _moment(field: Field, value: str) -> tuple[datetime | None, str | None]:
    if not field.regex.match(value):
        return None, BAD_MOMENT
    try:
        if len(value) == 10:  # a day: midnight in the display time zone
            moment = datetime.combine(date.fromisoformat(value), time(), tzinfo=timezone.get_current_timezone())
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        return None, NO_SUCH_DAY
    if moment >= LATEST:
        return None, PERIOD_TOO_LATE
    return moment, moment_rule(moment, now=LATEST)


NAMES = (*(f.name for f in PARAMS), "group_by")
ACCEPTED = ", ".join(NAMES)


def _unknown_or_repeated(params) -> dict[str, str]:
    errors = {}
    for name in params:
        if name not in NAMES:
            errors[name[:64]] = UNKNOWN_PARAMETER.format(names=ACCEPTED)
        elif len(params.getlist(name)) > 1:
            errors[name] = REPEATED
    return errors


def parse_query(params) -> tuple[StatsQuery | None, dict[str, str]]:
    errors = _unknown_or_repeated(params)
    values: dict = {}
    for field in PARAMS:
        value, rule = read_value(field, params.get(field.name, ""))
        if not rule and value and field.kind == DAY_OR_MOMENT:
            value, rule = _moment(field, value)
        if rule:
            errors[field.name] = rule
        values[field.name] = value or ""
    now = timezone.now()
    start, end = values["start"] or now - DEFAULT_PERIOD, values["end"] or now
    if not errors and end <= start:
        errors["end"] = END_BEFORE_START
    raw_groups = params.get("group_by", "")
    group_by = tuple(dict.fromkeys(raw_groups.split(","))) if raw_groups else ()
    for group in group_by:
        if group not in GROUPS:
            errors["group_by"] = BAD_GROUP.format(value=group[:40])
    if errors:
        return None, errors
    filters = {name: values[name] for name in ("provider", "template", "country")}
    return StatsQuery(start=start, end=end, group_by=group_by, **filters), {}


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
