"""The dashboard page (staff only). Charts load their data from charts.py with the same query string."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.shortcuts import render

from apps.dashboard import alerts, rollups, selectors
from apps.dashboard.forms import DashboardForm
from apps.dashboard.models import DropAlert
from apps.providers.models import Provider


@staff_member_required
def dashboard(request):
    form = DashboardForm(request.GET)
    context = {**admin.site.each_context(request), "title": "OTP conversion dashboard", "form": form}
    filters = None
    if form.is_valid():
        try:
            filters = form.filters()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field, messages)
    if filters is None:
        return render(request, "dashboard/dashboard.html", context, status=400)
    rollups.rollups_refresh()
    context.update(_panels(request, form, filters))
    return render(request, "dashboard/dashboard.html", context)


def _panels(request, form, f: selectors.Filters) -> dict:
    by = form.cleaned_data["by"]
    countries, providers, data = selectors.comparison(f)
    return {
        "filters": f,
        "query": request.GET.urlencode(),
        "choices": selectors.filter_choices(f),
        "totals": selectors.totals(f),
        "drops": alerts.detect_drops(f),
        "recorded_alerts": DropAlert.objects.filter(window_start__gte=f.start, window_start__lt=f.end)[:20],
        "funnel": [
            (Provider(p).label, country, c)
            for (p, country), c in sorted(data.items(), key=lambda i: (i[0][0], -i[1].requested))
        ],
        "time_zones": sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}),
        "comparison": _comparison_rows(countries, providers, data),
        "providers": [(p, Provider(p).label) for p in providers],
        "by": by,
        "breakdown_tabs": [(key, _with(request, by=key)) for key in selectors.BREAKDOWNS],
        "breakdown": selectors.breakdown(f, by),
        "baseline_days": settings.DASHBOARD_BASELINE_DAYS,
    }


def _comparison_rows(countries, providers, data) -> list[dict]:
    rows = []
    for country in countries:
        cells = [data.get((p, country)) for p in providers]
        rates = [c.conversion_rate for c in cells if c is not None and c.conversion_rate is not None]
        best = max(rates) if len(rates) > 1 else None
        rows.append(
            {
                "country": country,
                "cells": [(c, best is not None and c is not None and c.conversion_rate == best) for c in cells],
            }
        )
    return rows


def _with(request, **changes) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        params[key] = value
    return "?" + params.urlencode()
