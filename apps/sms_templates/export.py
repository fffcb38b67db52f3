"""CSV export of templates with their state, streamed so a large selection never sits in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

COLUMNS = [
    ("id", lambda t: t.pk),
    ("name", lambda t: t.name),
    ("account", lambda t: t.account.name),
    ("provider", lambda t: t.account.get_provider_display()),
    ("type", lambda t: t.get_type_display()),
    ("status", lambda t: t.get_status_display()),
    ("provider_status", lambda t: t.get_provider_status_display() if t.provider_status else ""),
    ("provider_template_code", lambda t: t.provider_template_code),
    ("provider_reason", lambda t: t.provider_reason),
    ("last_error", lambda t: t.last_error),
    ("author", lambda t: t.author.username if t.author else ""),
    ("reviewer", lambda t: t.reviewer.username if t.reviewer else ""),
    ("created_at", lambda t: t.created_at.isoformat()),
    ("submitted_at", lambda t: t.submitted_at.isoformat() if t.submitted_at else ""),
    ("decided_at", lambda t: t.decided_at.isoformat() if t.decided_at else ""),
    ("content", lambda t: t.content),
    ("remark", lambda t: t.remark),
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def safe_cell(value) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def template_rows(queryset) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([name for name, _ in COLUMNS])  # BOM: Excel reads UTF-8
    for template in queryset.select_related("account", "author", "reviewer").order_by("pk").iterator(chunk_size=500):
        yield writer.writerow([safe_cell(value(template)) for _, value in COLUMNS])


def templates_csv_response(queryset) -> StreamingHttpResponse:
    response = StreamingHttpResponse(template_rows(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="sms-templates-{stamp}.csv"'
    return response
