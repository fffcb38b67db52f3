"""Conversions changelist: the column and filters an operator uses to find possible repeats and
rows held by a worker that died. The health panel (apps/dashboard/health.py) links to these
filters, so each of its figures opens the rows it counts."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from apps.messaging.models import ReportState

POSSIBLE_REPEAT = "possible_repeat"
CLAIM = "claim"
LAPSED, HELD, FREE = "lapsed", "held", "free"


def lease_lapsed_before():
    """Claims older than this belong to a worker that stopped renewing them (apps/messaging/leases.py)."""
    return timezone.now() - timedelta(seconds=settings.CONVERSION_REPORTING["CLAIM_TIMEOUT_SECONDS"])


def held_by_dead_workers() -> Q:
    """Pending rows whose claim lease lapsed and that the sweep has not given back yet."""
    return Q(report_state=ReportState.PENDING, claimed_at__lt=lease_lapsed_before()) & ~Q(claim_token="")


@admin.display(description="possible repeats", ordering="repeat_reports")
def possible_repeats(conversion) -> str:
    # Counted when a dead worker's claim is released: it may have reached the provider twice.
    return str(conversion.repeat_reports) if conversion.repeat_reports else "—"


class PossibleRepeatFilter(admin.SimpleListFilter):
    title = "possible repeat"
    parameter_name = POSSIBLE_REPEAT

    def lookups(self, request, model_admin):
        return [("yes", "May have been reported twice"), ("no", "Reported at most once")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(repeat_reports__gt=0)
        if self.value() == "no":
            return queryset.filter(repeat_reports=0)
        return queryset


class ClaimFilter(admin.SimpleListFilter):
    title = "worker claim"
    parameter_name = CLAIM

    def lookups(self, request, model_admin):
        return [
            (LAPSED, "Held by a dead worker (lease lapsed)"),
            (HELD, "Held by a live worker"),
            (FREE, "Not claimed"),
        ]

    def queryset(self, request, queryset):
        if self.value() == LAPSED:
            return queryset.filter(held_by_dead_workers())
        if self.value() == HELD:
            return queryset.exclude(claim_token="").filter(claimed_at__gte=lease_lapsed_before())
        if self.value() == FREE:
            return queryset.filter(claim_token="")
        return queryset
