"""Starting, streaming and running CSV exports; every export leaves an ExportRecord."""

from __future__ import annotations

import csv
import io
import logging
import os

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect
from django.test import RequestFactory
from django.utils import timezone

from apps.dashboard.export import (
    columns_for,
    csv_chunks,
    export_filename,
    queryset_rows,
    rows_for,
    unwritable_ids,
)
from apps.dashboard.models import ExportRecord, ExportState
from apps.messaging.models import Conversion, SentMessage
from apps.sms_templates.models import SmsTemplate
from smsdash.queue import enqueue

logger = logging.getLogger(__name__)

IGNORED_PARAMS = {"p", "_changelist_filters"}  # paging does not change what is exported
BAD_FILTERS = "The changelist filters are not valid; open the list again and export from there."
QUEUE_UNAVAILABLE = "The job queue (Redis) could not be reached, so this export never started. Export again later."
# The last line of a streamed file whose export died: the 200 went out with the header row, so only
# the file itself can still say it is incomplete. The reason's text stays in the record (staff only).
STREAM_FAILED_LINE = "EXPORT FAILED after {rows} rows ({kind}): this file is incomplete. See Exports in the admin."
UNWRITABLE_LOG = "export %s: rows with a time before year 1 are written with that time empty: ids %s"
PROGRESS_EVERY = 20_000


def changelist_export(model_admin, request):
    """The admin view behind the Export CSV button."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        queryset = model_admin.get_changelist_instance(request).get_queryset(request)
    except IncorrectLookupParameters:
        return HttpResponseBadRequest(BAD_FILTERS)
    kind, columns = columns_for(model_admin.model)
    params = {key: values for key, values in request.GET.lists() if key not in IGNORED_PARAMS}
    filename = export_filename(kind, filtered=bool(params))
    limit = settings.DASHBOARD_EXPORT_STREAM_LIMIT
    rows = queryset.order_by()[: limit + 1].count()
    if rows > limit:
        record = export_queue(user=request.user, kind=kind, filters=params, filename=filename)
        return redirect("dashboard:export-status", pk=record.pk)
    record = ExportRecord.objects.create(user=request.user, kind=kind, filters=params, filename=filename, total=rows)
    _log_unwritable(record, queryset, columns)
    rows_out = rows_for(request.user, queryset_rows(queryset, columns), columns)
    return stream_response(record, [header for header, _ in columns], rows_out)


def stream_response(record: ExportRecord, header: list[str], rows) -> StreamingHttpResponse:
    counter = [0]

    def body():
        try:
            yield from csv_chunks(header, rows, counter)
        except Exception as exc:  # see STREAM_FAILED_LINE
            logger.exception("streamed export %s failed after %d rows", record.pk, counter[0])
            export_fail(record_id=record.pk, reason=failure_reason(exc), rows=counter[0])
            yield failed_line(counter[0], exc)
            return
        # Only reached when the whole file went out: an interrupted download keeps finished_at empty.
        ExportRecord.objects.filter(pk=record.pk).update(rows=counter[0], finished_at=timezone.now())

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{record.filename}"'
    response["Cache-Control"] = "no-store"
    return response


def export_queue(*, user, kind: str, filters: dict, filename: str) -> ExportRecord:
    with transaction.atomic():
        record = ExportRecord.objects.create(
            user=user, kind=kind, filters=filters, filename=filename, state=ExportState.QUEUED
        )
        from apps.dashboard.jobs import export_run_job

        enqueue(
            export_run_job,
            record.pk,
            job_timeout=6 * 3600,
            on_unavailable=lambda _exc: export_fail(record_id=record.pk, reason=QUEUE_UNAVAILABLE),
        )
    return record


def export_fail(*, record_id: int, reason: str, rows: int | None = None) -> None:
    """Mark an export failed with the reason the user will read; a record that already finished
    keeps its outcome."""
    changes = {"state": ExportState.FAILED, "error": reason, "finished_at": timezone.now()}
    if rows is not None:
        changes["rows"] = rows
    try:
        ExportRecord.objects.filter(pk=record_id, finished_at__isnull=True).update(**changes)
    except Exception:  # the database may be what failed: the log keeps the record's id
        logger.exception("could not mark export %s failed (%s)", record_id, reason)


def failure_reason(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"


def failed_line(rows: int, exc: BaseException) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([STREAM_FAILED_LINE.format(rows=rows, kind=exc.__class__.__name__)])
    return out.getvalue()


def export_run(*, record_id: int) -> None:
    """Write the export to DASHBOARD_EXPORT_DIR, recording progress; claimed so it runs once."""
    claimed = ExportRecord.objects.filter(pk=record_id, state=ExportState.QUEUED).update(state=ExportState.RUNNING)
    if claimed != 1:
        return
    record = ExportRecord.objects.get(pk=record_id)
    try:
        queryset, columns = _replay_changelist(record)
        record.total = queryset.order_by().count()
        record.save(update_fields=["total"])
        _log_unwritable(record, queryset, columns)
        _write_file(record, queryset, columns)
    except Exception as exc:
        export_fail(record_id=record_id, reason=failure_reason(exc))
        raise  # rq keeps the traceback with the failed job
    ExportRecord.objects.filter(pk=record_id).update(state=ExportState.DONE, finished_at=timezone.now())


def export_path(record: ExportRecord):
    return settings.DASHBOARD_EXPORT_DIR / f"export-{record.pk}.csv"


def _write_file(record: ExportRecord, queryset, columns) -> None:
    """Written beside its final name and renamed when complete: a job that dies leaves no file
    that could pass for the whole export."""
    path = export_path(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    counter = [0]
    last_reported = 0
    try:
        with open(partial, "w", encoding="utf-8", newline="") as out:
            rows = rows_for(record.user, queryset_rows(queryset, columns), columns)
            for chunk in csv_chunks([h for h, _ in columns], rows, counter):
                out.write(chunk)
                if counter[0] - last_reported >= PROGRESS_EVERY:
                    last_reported = counter[0]
                    ExportRecord.objects.filter(pk=record.pk).update(rows=counter[0])
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    ExportRecord.objects.filter(pk=record.pk).update(rows=counter[0])


def _log_unwritable(record: ExportRecord, queryset, columns) -> None:
    ids = unwritable_ids(queryset, columns)
    if ids:
        logger.warning(UNWRITABLE_LOG, record.pk, ids)


def _replay_changelist(record: ExportRecord):
    """The changelist's queryset for the stored filters, as the user who asked for it saw it."""
    model = next(m for m in (SentMessage, Conversion, SmsTemplate) if columns_for(m)[0] == record.kind)
    model_admin = admin.site.get_model_admin(model)
    request = RequestFactory().get("/", data=record.filters)
    request.user = record.user
    queryset = model_admin.get_changelist_instance(request).get_queryset(request)
    return queryset, columns_for(model)[1]
