"""The health panel (staff only): background work and what it is holding back, with links to
the rows each figure counts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from apps.dashboard import health
from apps.dashboard.models import OpsIncident

RECENT_INCIDENTS = 10


@staff_member_required
def health_panel(request):
    context = {
        **admin.site.each_context(request),
        "title": "Background work health",
        "summary": health.summary(),
        "incidents": OpsIncident.objects.all()[:RECENT_INCIDENTS],
        "thresholds": {
            "worker_silent": settings.OPS_WORKER_SILENT_SECONDS,
            "backlog": settings.OPS_ALERT_BACKLOG_MINUTES,
            "breaker": settings.OPS_ALERT_BREAKER_OPEN_MINUTES,
            "lease": settings.CONVERSION_REPORTING["CLAIM_TIMEOUT_SECONDS"],
        },
    }
    return render(request, "dashboard/health.html", context)
