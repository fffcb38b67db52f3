"""Chart.js data views, built on django-chartjs's BaseLineChartView.

django-chartjs puts the view object itself into the JSON (TemplateView's "view" context key,
stringified by its encoder); ChartView drops it. Every view refreshes the rollups first, so the
numbers equal the raw rows at the moment of the request.
"""

from __future__ import annotations

from chartjs.views.lines import BaseLineChartView
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.decorators import method_decorator

from apps.dashboard import alerts, rollups, selectors
from apps.dashboard.forms import DashboardForm
from apps.providers.models import Provider

PALETTE = [(37, 99, 235), (22, 163, 74), (234, 88, 12), (147, 51, 234), (219, 39, 119), (100, 116, 139)]
FUNNEL_STEPS = [
    ("requested", "Requested"),
    ("accepted", "Accepted"),
    ("delivered", "Delivered"),
    ("verified", "Verified"),
]


def percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def bucket_label(start, granularity: str) -> str:
    return start.strftime("%Y-%m-%d %H:%M" if granularity == "hour" else "%Y-%m-%d")


@method_decorator(staff_member_required, name="dispatch")
class ChartView(BaseLineChartView):
    """Parses the dashboard filters; bad filters answer 400 with the errors per field."""

    def get(self, request, *args, **kwargs):
        form = DashboardForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        try:
            self.filters = form.filters()
        except ValidationError as exc:
            return JsonResponse({"errors": exc.message_dict}, status=400)
        rollups.rollups_refresh()
        self.prepare()
        return super().get(request, *args, **kwargs)

    def prepare(self) -> None:
        """Load the data once; subclasses fill self.labels, self.series [(label, values, options)]."""
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.pop("view", None)
        return context

    def get_labels(self):
        return self.labels

    def get_providers(self):
        return [label for label, _values, _options in self.series]

    def get_data(self):
        return [values for _label, values, _options in self.series]

    def get_colors(self):
        while True:
            yield from PALETTE

    def get_dataset_options(self, index, color):
        red, green, blue = color
        options = {
            "borderColor": f"rgb({red}, {green}, {blue})",
            "backgroundColor": f"rgba({red}, {green}, {blue}, 0.55)",
        }
        options.update(self.series[index][2])
        return options


class ConversionChartView(ChartView):
    """Conversion rate over time (line, %) with requested and verified counts (bars), and drops."""

    def prepare(self) -> None:
        f = self.filters
        points = selectors.series(f)
        self.labels = [bucket_label(start, f.granularity) for start, _ in points]
        self.series = [
            ("Conversion rate %", [percent(c.conversion_rate) for _, c in points], {"type": "line", "yAxisID": "rate"}),
            ("Requested", [c.requested for _, c in points], {"type": "bar", "yAxisID": "count"}),
            ("Verified", [c.verified for _, c in points], {"type": "bar", "yAxisID": "count"}),
        ]
        self.drops = alerts.detect_drops(f)
        self.starts = [start for start, _ in points]

    def get_datasets(self):
        datasets = super().get_datasets()
        index = {start: i for i, start in enumerate(self.starts)}
        values, notes = [None] * len(self.labels), [""] * len(self.labels)
        for drop in self.drops:
            i = index.get(drop.start)
            if i is None:
                continue
            rate = percent(drop.current.conversion_rate)
            values[i] = rate if values[i] is None else min(values[i], rate)
            text = (
                f"{drop.provider_label} · {drop.country}: {percent(drop.current.conversion_rate)}% "
                f"vs {percent(drop.baseline.conversion_rate)}% baseline (−{drop.drop_percent:.0f}%)"
            )
            notes[i] = f"{notes[i]}; {text}" if notes[i] else text
        datasets.append(
            {
                "label": "Drop",
                "type": "line",
                "yAxisID": "rate",
                "data": values,
                "notes": notes,
                "showLine": False,
                "pointStyle": "triangle",
                "pointRadius": 8,
                "borderColor": "rgb(220, 38, 38)",
                "backgroundColor": "rgb(220, 38, 38)",
            }
        )
        return datasets


class DeliveryChartView(ChartView):
    """Delivery rate (delivered / requested) and receipt rate (accepted / requested) over time."""

    def prepare(self) -> None:
        f = self.filters
        points = selectors.series(f)
        self.labels = [bucket_label(start, f.granularity) for start, _ in points]
        receipts = [percent(c.accepted / c.requested) if c.requested else None for _, c in points]
        self.series = [
            ("Delivery rate %", [percent(c.delivery_rate) for _, c in points], {"type": "line"}),
            ("Receipt rate %", receipts, {"type": "line", "borderDash": [6, 4]}),
        ]


class ComparisonChartView(ChartView):
    """Per country (by volume), one bar per provider: conversion or delivery rate side by side."""

    def prepare(self) -> None:
        metric = "delivery_rate" if self.request.GET.get("metric") == "delivery" else "conversion_rate"
        countries, providers, data = selectors.comparison(self.filters)
        self.labels = countries
        self.series = [
            (
                Provider(provider).label,
                [percent(getattr(data[(provider, c)], metric)) if (provider, c) in data else None for c in countries],
                {"type": "bar"},
            )
            for provider in providers
        ]


class FunnelChartView(ChartView):
    """Requested → accepted → delivered → verified, one bar series per provider."""

    def prepare(self) -> None:
        totals: dict[str, selectors.Counts] = {}
        for (provider, _country), counts in selectors.segments(self.filters).items():
            totals.setdefault(provider, selectors.Counts()).add(counts)
        self.labels = [label for _, label in FUNNEL_STEPS]
        self.series = [
            (Provider(p).label, [getattr(totals[p], step) for step, _ in FUNNEL_STEPS], {"type": "bar"})
            for p in Provider.values
            if p in totals
        ]
