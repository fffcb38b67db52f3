"""The dashboard's filters, read from the URL so that every view can be bookmarked and shared."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from apps.dashboard.rollups import floor_hour
from apps.dashboard.selectors import BREAKDOWNS, Filters
from apps.messaging import stored_times
from apps.providers.models import Provider
from smsdash.boundary import TOO_EARLY

RANGES = [("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"), ("custom", "Custom")]
RANGE_DAYS = {"7d": 7, "30d": 30}
DEFAULT_RANGE = "7d"
MAX_DAYS = 400
MAX_HOUR_BUCKETS = 24 * 31

CUSTOM_NEEDS_DATES = "A custom range needs both a start and an end date."
START_AFTER_END = "The start date must not be after the end date."
RANGE_TOO_LONG = f"A range may span at most {MAX_DAYS} days."
TOO_MANY_HOURS = "Hourly granularity is limited to 31 days; choose daily granularity for longer ranges."
UNKNOWN_TZ = "Unknown time zone: use an IANA name such as Europe/Paris or Asia/Shanghai."
BAD_COUNTRY = "Country must be a two-letter ISO 3166 code in capitals, e.g. CN."
TOO_LATE = "Must not be after {latest}."


def validate_day(day) -> None:
    """A day the dashboard can hold figures for (stored_times.window()); its midnight in any time
    zone, and the day after it, stay computable (the first and last days of datetime do not)."""
    earliest, latest = stored_times.window()
    if day < earliest.date():
        raise forms.ValidationError(TOO_EARLY.format(earliest=earliest.date().isoformat()), code="too_early")
    last = latest.date() - timedelta(days=1)
    if day > last:
        raise forms.ValidationError(TOO_LATE.format(latest=last.isoformat()), code="too_late")


class DashboardForm(forms.Form):
    range = forms.ChoiceField(choices=RANGES, required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_day])
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_day])
    granularity = forms.ChoiceField(choices=[("", "Auto"), ("hour", "Hour"), ("day", "Day")], required=False)
    provider = forms.ChoiceField(choices=[("", "All providers"), *Provider.choices], required=False)
    account = forms.IntegerField(required=False, min_value=1)
    template = forms.CharField(required=False, max_length=64)
    country = forms.RegexField(r"^[A-Z]{2}$", required=False, error_messages={"invalid": BAD_COUNTRY})
    tz = forms.CharField(required=False, max_length=64, label="Time zone")
    by = forms.ChoiceField(choices=[(key, key.title()) for key in BREAKDOWNS], required=False)

    def __init__(self, data=None, *args, **kwargs):
        # A bound select with no value renders its first option ("Last 24 hours") as chosen, while
        # clean() defaults to 7 days: put the default into the data so what is shown is what is used.
        if data is not None and not data.get("range"):
            data = data.copy()
            data["range"] = DEFAULT_RANGE
        super().__init__(data, *args, **kwargs)

    def clean_tz(self) -> zoneinfo.ZoneInfo:
        name = self.cleaned_data.get("tz") or settings.TIME_ZONE
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(UNKNOWN_TZ) from None

    def clean(self):
        data = super().clean()
        data["range"] = data.get("range") or DEFAULT_RANGE
        if data["range"] == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                missing = [name for name in ("start", "end") if not data.get(name) and name not in self.errors]
                if missing:  # a date given but refused already says why under its field
                    self.add_error(missing[0], CUSTOM_NEEDS_DATES)
            elif start > end:
                self.add_error("start", START_AFTER_END)
            elif (end - start).days >= MAX_DAYS:
                self.add_error("end", RANGE_TOO_LONG)
        data["by"] = data.get("by") or "provider"
        return data

    def filters(self, now: datetime | None = None) -> Filters:
        """The validated filters; raises ValidationError when hourly buckets would be too many."""
        data = self.cleaned_data
        tz = data["tz"]
        start, end = _bounds(data, tz, now or timezone.now())
        granularity = data.get("granularity") or ("hour" if data["range"] == "24h" else "day")
        if granularity == "hour" and (end - start) > timedelta(hours=MAX_HOUR_BUCKETS):
            raise forms.ValidationError({"granularity": TOO_MANY_HOURS})
        return Filters(
            start=start,
            end=end,
            granularity=granularity,
            tz=tz,
            provider=data.get("provider") or "",
            account=data.get("account"),
            template=data.get("template") or "",
            country=data.get("country") or "",
        )


def _bounds(data: dict, tz, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC on hour boundaries. A half-hour zone's midnight is rounded up to the next
    UTC hour, whose start is on the new local date (see the day buckets in selectors.py)."""
    if data["range"] == "custom":
        return _utc_midnight(data["start"], tz), _utc_midnight(data["end"] + timedelta(days=1), tz)
    end = floor_hour(now.astimezone(UTC)) + timedelta(hours=1)
    if data["range"] == "24h":
        return end - timedelta(hours=24), end
    first_day = now.astimezone(tz).date() - timedelta(days=RANGE_DAYS[data["range"]] - 1)
    return _utc_midnight(first_day, tz), end


def _utc_midnight(day, tz) -> datetime:
    utc = datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    floored = floor_hour(utc)
    return floored if floored == utc else floored + timedelta(hours=1)
