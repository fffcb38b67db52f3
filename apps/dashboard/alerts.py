"""Drops: a provider+country's conversion rate falling below its own trailing baseline.

The baseline is adaptive: the same segment's verified / requested over the BASELINE_DAYS local days
before the bucket's day. A bucket is a drop when it has enough messages, its rate is at least
THRESHOLD_PERCENT below the baseline, and the fall is statistically clear (binomial z-score), so
small segments do not cry wolf on noise. Buckets still collecting conversions are not judged.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.dashboard import rollups, selectors
from apps.dashboard.models import DropAlert
from apps.dashboard.selectors import Counts, Filters
from apps.providers.models import Provider

logger = logging.getLogger(__name__)

GRACE = timedelta(minutes=15)  # users enter codes within minutes: younger buckets are incomplete
WEBHOOK_TIMEOUT = 5
LOOKBACK_HOURS = 3  # the cron re-judges a few complete hours, so a missed run loses nothing
WEBHOOK_FAILED = "Webhook answered HTTP {status}."


@dataclass(frozen=True)
class Drop:
    provider: str
    country: str
    granularity: str
    start: datetime
    end: datetime
    current: Counts
    baseline: Counts
    drop_percent: float

    @property
    def provider_label(self) -> str:
        return Provider(self.provider).label if self.provider in Provider.values else self.provider


def is_drop(current: Counts, baseline: Counts) -> float | None:
    """The drop in percent of the baseline rate, or None when this is not a drop."""
    minimum = settings.DASHBOARD_DROP_MIN_MESSAGES
    if current.requested < minimum or baseline.requested < minimum or not baseline.verified:
        return None
    base, rate = baseline.conversion_rate, current.conversion_rate
    drop = (base - rate) / base * 100
    if drop < settings.DASHBOARD_DROP_THRESHOLD_PERCENT:
        return None
    spread = math.sqrt(base * (1 - base) / current.requested)
    if spread and (base - rate) / spread < settings.DASHBOARD_DROP_MIN_Z:
        return None
    return drop


def detect_drops(f: Filters, *, now: datetime | None = None) -> list[Drop]:
    """Drops in every complete bucket of the range, oldest first."""
    now = now or timezone.now()
    first_day = selectors.buckets(f)[0].astimezone(f.tz).date()
    days = settings.DASHBOARD_BASELINE_DAYS
    baseline_start = _midnight(first_day - timedelta(days=days), f).astimezone(UTC)
    daily = selectors.segment_series(f, start=baseline_start, by_day=True)
    found = []
    for segment, by_bucket in selectors.segment_series(f).items():
        baselines: dict = {}  # per local day: the 24 hour buckets of a day share one baseline
        for start, counts in by_bucket.items():
            end = _bucket_end(start, f)
            if end > now - GRACE or counts.requested < settings.DASHBOARD_DROP_MIN_MESSAGES:
                continue
            day = start.astimezone(f.tz).date()
            if day not in baselines:
                baselines[day] = _baseline(daily.get(segment, {}), day, days, f)
            drop = is_drop(counts, baselines[day])
            if drop is not None:
                found.append(Drop(*segment, f.granularity, start, end, counts, baselines[day], drop))
    return sorted(found, key=lambda d: (d.start, d.provider, d.country))


def _baseline(daily: dict, day, days: int, f: Filters) -> Counts:
    total = Counts()
    for back in range(1, days + 1):
        total.add(daily.get(_midnight(day - timedelta(days=back), f), Counts()))
    return total


def _midnight(day, f: Filters) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=f.tz)


def _bucket_end(start: datetime, f: Filters) -> datetime:
    if f.granularity == "hour":
        return start + timedelta(hours=1)
    return _midnight(start.date() + timedelta(days=1), f)


def drops_record(*, now: datetime | None = None) -> list[DropAlert]:
    """Judge the last complete hours and record each new drop once; returns the new alerts."""
    from apps.dashboard import jobs  # jobs imports this module

    now = now or timezone.now()
    rollups.rollups_refresh()
    end = rollups.floor_hour(now - GRACE)
    hours = Filters(start=end - timedelta(hours=LOOKBACK_HOURS), end=end, granularity="hour")
    created = []
    for drop in detect_drops(hours, now=now) + detect_drops(_yesterday(now), now=now):
        alert = _record(drop)
        if alert is not None:
            created.append(alert)
            jobs.enqueue_alert_notify(alert.pk)
    return created


def drops_record_history(f: Filters) -> list[DropAlert]:
    """Record the drops of a past range without notifying anyone (the demo's history)."""
    rollups.rollups_refresh()
    return [alert for alert in map(_record, detect_drops(f)) if alert is not None]


def _yesterday(now: datetime) -> Filters:
    """The previous whole day in the site's time zone (day buckets start at local midnight)."""
    tz = ZoneInfo(settings.TIME_ZONE)
    today = _midnight(now.astimezone(tz).date(), Filters(start=now, end=now, tz=tz))
    start = today - timedelta(days=1)
    return Filters(start=start.astimezone(UTC), end=today.astimezone(UTC), granularity="day", tz=tz)


def _record(drop: Drop) -> DropAlert | None:
    fields = dict(
        window_end=drop.end,
        requested=drop.current.requested,
        verified=drop.current.verified,
        rate=drop.current.conversion_rate,
        baseline_requested=drop.baseline.requested,
        baseline_verified=drop.baseline.verified,
        baseline_rate=drop.baseline.conversion_rate,
        drop_percent=round(drop.drop_percent, 2),
        threshold_percent=settings.DASHBOARD_DROP_THRESHOLD_PERCENT,
    )
    key = dict(provider=drop.provider, country=drop.country, granularity=drop.granularity, window_start=drop.start)
    try:
        with transaction.atomic():
            if DropAlert.objects.filter(**key).exists():
                return None
            return DropAlert.objects.create(**key, **fields)
    except IntegrityError:  # another worker recorded it first
        return None


def alert_notify(*, alert: DropAlert) -> None:
    """E-mail and/or POST the alert; the outcome is stored on the alert."""
    subject, body = _message(alert)
    errors = notify_channels(subject, body, _payload(alert, subject))
    alert.notified_at = timezone.now()
    alert.notify_error = " ".join(errors)
    alert.save(update_fields=["notified_at", "notify_error"])


def notify_channels(subject: str, body: str, payload: dict) -> list[str]:
    """Send to the configured e-mail addresses and webhook; the failures in words (never the
    webhook's URL, which may carry a token). Drop alerts and operational alerts both use it."""
    errors = []
    if settings.DASHBOARD_ALERT_EMAILS:
        try:
            send_mail(subject, body, None, settings.DASHBOARD_ALERT_EMAILS)
        except Exception as exc:  # a broken mail server must not lose the webhook
            errors.append(f"E-mail failed: {exc}")
    if settings.DASHBOARD_ALERT_WEBHOOK_URL:
        errors.extend(_post_webhook(payload))
    return errors


def _payload(alert: DropAlert, subject: str) -> dict:
    return {
        "text": subject,
        "provider": alert.provider,
        "country": alert.country,
        "granularity": alert.granularity,
        "window_start": alert.window_start.isoformat(),
        "window_end": alert.window_end.isoformat(),
        "requested": alert.requested,
        "verified": alert.verified,
        "rate": alert.rate,
        "baseline_rate": alert.baseline_rate,
        "drop_percent": alert.drop_percent,
    }


def _post_webhook(payload: dict) -> list[str]:
    try:
        response = requests.post(settings.DASHBOARD_ALERT_WEBHOOK_URL, json=payload, timeout=WEBHOOK_TIMEOUT)
    except requests.RequestException as exc:
        return [f"Webhook failed: {exc.__class__.__name__}."]
    return [] if response.ok else [WEBHOOK_FAILED.format(status=response.status_code)]


def _message(alert: DropAlert) -> tuple[str, str]:
    where = f"{alert.get_provider_display()} / {alert.country}"
    subject = f"[smsdash] OTP conversion drop: {where} -{alert.drop_percent:.0f}%"
    body = (
        f"OTP conversion for {where} fell to {alert.rate:.1%} ({alert.verified} of {alert.requested} verified)\n"
        f"between {alert.window_start:%Y-%m-%d %H:%M} and {alert.window_end:%H:%M} UTC,\n"
        f"against a baseline of {alert.baseline_rate:.1%} over the previous {settings.DASHBOARD_BASELINE_DAYS} days "
        f"({alert.baseline_verified} of {alert.baseline_requested}).\n"
        "A routing problem at the provider or SMS-pumping fraud are the usual causes."
    )
    return subject, body
