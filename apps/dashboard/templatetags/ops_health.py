"""The health panel's formatting: figures with thousands separators, times as "3 minutes ago"
with the exact time on hover, and the compact summary shown above the admin index and the
provider accounts list."""

from __future__ import annotations

import logging
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from apps.dashboard import health

logger = logging.getLogger(__name__)
register = template.Library()


@register.filter
def figure(value) -> str:
    """12345 → "12,345", whatever the locale settings."""
    return f"{value:,}" if isinstance(value, int) else str(value)


@register.simple_tag
def ago(moment: datetime | None, empty: str = "—") -> str:
    """A <time> reading "3 minutes ago" (or "in 25 seconds"), its exact time (site time zone) on hover."""
    if moment is None:
        return empty
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        _words(moment, timezone.now()),
    )


def _words(moment: datetime, now: datetime) -> str:
    """'42 minutes ago', 'in 25 seconds': seconds under a minute, where heartbeats and cool-downs live."""
    seconds = round((now - moment).total_seconds())
    if abs(seconds) < 60:
        unit = "second" if abs(seconds) == 1 else "seconds"
        return f"{seconds}\xa0{unit} ago" if seconds >= 0 else f"in {-seconds}\xa0{unit}"
    return f"{timesince(moment, now)} ago" if seconds > 0 else f"in {timeuntil(moment, now)}"


@register.inclusion_tag("dashboard/health_summary.html")
def health_summary():
    # Shown above other pages: whatever fails here is logged and said, never a failed page.
    try:
        return {"summary": health.summary()}
    except Exception:
        logger.exception("the health summary could not be read")
        return {"summary": None}
