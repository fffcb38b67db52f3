"""Dashboard CSV (the breakdown table) and the pages of background exports."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, render

from apps.dashboard import rollups, selectors
from apps.dashboard.export import BREAKDOWN_HEADER, cell, export_filename
from apps.dashboard.export_jobs import export_path, stream_response
from apps.dashboard.forms import DashboardForm
from apps.dashboard.models import ExportKind, ExportRecord, ExportState


@staff_member_required
def breakdown_csv(request):
    form = DashboardForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    try:
        f = form.filters()
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=400)
    rollups.rollups_refresh()
    by = form.cleaned_data["by"]
    rows = [
        (
            cell(label),
            c.requested,
            c.accepted,
            c.delivered,
            c.verified,
            _rate(c.conversion_rate),
            _rate(c.delivery_rate),
        )
        for label, c in selectors.breakdown(f, by)
    ]
    params = {key: values for key, values in request.GET.lists()}
    filename = export_filename(f"breakdown-by-{by}", filtered=bool(params))
    record = ExportRecord.objects.create(
        user=request.user, kind=ExportKind.BREAKDOWN, filters=params, filename=filename, total=len(rows)
    )
    return stream_response(record, [by, *BREAKDOWN_HEADER], rows)


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _own_record(request, pk: int) -> ExportRecord:
    record = get_object_or_404(ExportRecord, pk=pk)
    if record.user_id != request.user.pk and not request.user.is_superuser:
        raise Http404("No such export.")
    return record


@staff_member_required
def export_status(request, pk: int):
    record = _own_record(request, pk)
    context = {**admin.site.each_context(request), "title": f"Export {record.filename}", "record": record}
    context["running"] = record.state in (ExportState.QUEUED, ExportState.RUNNING)
    return render(request, "dashboard/export_status.html", context)


@staff_member_required
def export_download(request, pk: int):
    record = _own_record(request, pk)
    path = export_path(record)
    if record.state != ExportState.DONE or not path.exists():
        raise Http404("This export is not ready.")
    return FileResponse(open(path, "rb"), as_attachment=True, filename=record.filename, content_type="text/csv")
