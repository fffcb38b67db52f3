"""The health panel's formatting: figures with thousands separators, times as "3 minutes ago"
with the exact time on hover, and the compact summary shown above the admin index and the
provider accounts list."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from apps.dashboard import health

register = template.Library()


@register.filter
def figure(value) -> str:
    """12345 → "12,345", whatever the locale settings."""
    return f"{value:,}" if isinstance(value, int) else str(value)


@register.simple_tag
def ago(moment: datetime | None, empty: str = "—") -> str:
    """A <time> reading "3 minutes ago", its exact time (site time zone) in the title on hover."""
    if moment is None:
        return empty
    local = timezone.localtime(moment)
    now = timezone.now()
    words = "just now" if abs((now - moment).total_seconds()) < 60 else f"{timesince(moment, now)} ago"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        words,
    )


@register.inclusion_tag("dashboard/health_summary.html")
def health_summary():
    return {"summary": health.summary()}
