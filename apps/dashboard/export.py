"""CSV export: streamed, UTF-8 with BOM, safe to open in a spreadsheet, recorded for the audit trail.

Formula injection: a text cell starting with = + - @ TAB or CR is prefixed with an apostrophe, the
OWASP recommendation; spreadsheets then show it as text and never evaluate it. The E.164 phone
column goes through the same rule: '+8613800138000 stays text (no formula, no number, no lost +),
and a program reading the file strips one leading apostrophe. Columns are listed explicitly per
model: secrets (provider keys, API tokens) and message bodies (which hold the one-time codes) are
never among them; phone numbers are masked (rows_for) for a user without the "view phone numbers"
permission: the user who asked, also when a background job writes the file. Times are UTC,
"YYYY-MM-DD HH:MM:SS", and the header says so; a time before year 1
(stored bypassing validation: PostgreSQL would write 1 BC as an AD date) is written empty, and
unwritable_ids() finds those rows so the export can log them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from django.db.models import Case, CharField, F, Func, Q, Value, When
from django.db.models.functions import Coalesce, Concat, Substr
from django.db.models.lookups import In
from django.utils import timezone

from apps.messaging.phone import mask_phone
from apps.messaging.phone_access import can_see_phones

BOM = "\ufeff"
PHONE_HEADER = "phone"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000
EARLIEST_WRITABLE = datetime(1, 1, 1, tzinfo=UTC)  # "YYYY-MM-DD" has no year 0 or BC

MESSAGE_COLUMNS = [
    ("provider_message_id", "provider_message_id"),
    ("provider", "account__provider"),
    ("account", "account__name"),
    (PHONE_HEADER, "phone"),
    ("country", "country"),
    ("template_code", "template_code"),
    ("out_id", "out_id"),
    ("trackable", "trackable"),
    ("sent_at_utc", "sent_at"),
    ("delivery_status", "delivery_status"),
    ("error_code", "error_code"),
    ("received_at_utc", "received_at"),
    ("conversion_status", "conversion__status"),
    ("converted_at_utc", "conversion__converted_at"),
]
CONVERSION_COLUMNS = [
    ("provider_message_id", "message__provider_message_id"),
    ("provider", "message__account__provider"),
    ("account", "message__account__name"),
    (PHONE_HEADER, "message__phone"),
    ("country", "message__country"),
    ("template_code", "message__template_code"),
    ("sent_at_utc", "message__sent_at"),
    ("status", "status"),
    ("converted_at_utc", "converted_at"),
    ("report_state", "report_state"),
    ("report_attempts", "report_attempts"),
    ("reported_at_utc", "reported_at"),
    ("provider_request_id", "provider_request_id"),
    ("last_error", "last_error"),
]
TEMPLATE_COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("provider", "account__provider"),
    ("account", "account__name"),
    ("type", "type"),
    ("status", "status"),
    ("provider_status", "provider_status"),
    ("provider_template_code", "provider_template_code"),
    ("content", "content"),
    ("remark", "remark"),
    ("provider_reason", "provider_reason"),
    ("author", "author__username"),
    ("reviewer", "reviewer__username"),
    ("created_at_utc", "created_at"),
    ("updated_at_utc", "updated_at"),
    ("submitted_at_utc", "submitted_at"),
]
BREAKDOWN_HEADER = ["requested", "accepted", "delivered", "verified", "conversion_rate", "delivery_rate"]


def cell(value):
    """One value as written to the CSV: text neutralised, times in UTC, empty for None."""
    kind = type(value)
    if kind is str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if kind is datetime:
        if value.utcoffset():  # the database hands back UTC already: skip the conversion then
            value = value.astimezone(UTC)
        return value.isoformat(" ", "seconds")[:19]  # C-fast, unlike strftime
    if kind is bool:
        return "true" if value else "false"
    return value


class _Buffer:
    """csv.writer target that hands back what was written (Django's streaming CSV recipe)."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def csv_chunks(header: list[str], rows: Iterable[Iterable], counter: list[int] | None = None) -> Iterator[str]:
    """BOM + header, then the rows (finished cells: see queryset_rows and cell) in chunks of
    CHUNK_ROWS; counter[0] counts rows written."""
    buffer = _Buffer()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield BOM + buffer.take()
    written = 0
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK_ROWS:
            writer.writerows(batch)
            written += len(batch)
            batch.clear()
            if counter is not None:
                counter[0] = written
            yield buffer.take()
    writer.writerows(batch)
    if counter is not None:
        counter[0] = written + len(batch)
    yield buffer.take()


def queryset_rows(queryset, columns) -> Iterator[tuple]:
    """The export's rows, every cell already a finished string: formatting and neutralising happen in
    the database (as `cell()` would), so Python only writes CSV. iterator(): a server-side cursor on
    PostgreSQL, so memory stays flat whatever the row count."""
    exprs = {f"c{i}": _sql_cell(queryset.model, path) for i, (_header, path) in enumerate(columns)}
    return queryset.annotate(**exprs).values_list(*exprs).iterator(chunk_size=CHUNK_ROWS)


def rows_for(user, rows: Iterable[tuple], columns) -> Iterable[tuple]:
    """The rows as `user` may read them: the phone column masked unless they may see phone numbers."""
    phone_at = [i for i, (header, _path) in enumerate(columns) if header == PHONE_HEADER]
    if not phone_at or can_see_phones(user):
        return rows
    return _masked(rows, phone_at[0])


def _masked(rows, index: int) -> Iterator[tuple]:
    for row in rows:
        phone = row[index]
        # The database already neutralised the cell: '+86… loses its apostrophe to be masked, then
        # the masked text goes through the same rule.
        masked = cell(mask_phone(phone[1:] if phone.startswith("'") else phone))
        yield (*row[:index], masked, *row[index + 1 :])


def unwritable_ids(queryset, columns, limit: int = 100) -> list[int]:
    """Up to limit primary keys of the rows with a time the export writes empty (before
    EARLIEST_WRITABLE). One query, separate from the export's so its row loop stays as it is."""
    paths = [path for _header, path in columns if _field(queryset.model, path).get_internal_type() == "DateTimeField"]
    if not paths:
        return []
    before = Q()
    for path in paths:
        before |= Q(**{f"{path}__lt": EARLIEST_WRITABLE})
    return list(queryset.filter(before).order_by("pk").values_list("pk", flat=True)[:limit])


class UtcText(Func):
    """A timestamp as 'YYYY-MM-DD HH:MM:SS' in UTC, formatted by the database."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite stores UTC text already; datetime() drops the fraction of a second. Not strftime:
        # its '%Y' would reach the SQL text, which DEBUG's query logging %-formats with the params.
        template = "datetime(%(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra)


def _sql_cell(model, path: str):
    kind = _field(model, path).get_internal_type()
    column = F(path)
    if kind == "DateTimeField":  # NULL and times before EARLIEST_WRITABLE fail the test: empty
        writable = When(**{f"{path}__gte": EARLIEST_WRITABLE}, then=UtcText(column))
        return Case(writable, default=Value(""), output_field=CharField())
    if kind == "BooleanField":
        return Case(When(**{path: True}, then=Value("true")), default=Value("false"), output_field=CharField())
    if kind in ("AutoField", "BigAutoField", "IntegerField", "PositiveIntegerField", "PositiveBigIntegerField"):
        return column
    text = Coalesce(column, Value(""), output_field=CharField())
    dangerous = In(Substr(text, 1, 1), list(FORMULA_STARTS))
    return Case(When(dangerous, then=Concat(Value("'"), text)), default=text, output_field=CharField())


def _field(model, path: str):
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    field = model._meta.get_field(name)
    return field.target_field if field.is_relation else field


def export_filename(kind: str, *, filtered: bool, now: datetime | None = None) -> str:
    moment = (now or timezone.now()).astimezone(UTC)
    suffix = "-filtered" if filtered else ""
    return f"smsdash-{kind}{suffix}-{moment:%Y%m%d-%H%M%S}-UTC.csv"


def columns_for(model) -> tuple[str, list[tuple[str, str]]]:
    """(export kind, columns) for a model whose changelist can be exported."""
    from apps.messaging.models import Conversion, SentMessage
    from apps.sms_templates.models import SmsTemplate

    known = {
        SentMessage: ("messages", MESSAGE_COLUMNS),
        Conversion: ("conversions", CONVERSION_COLUMNS),
        SmsTemplate: ("templates", TEMPLATE_COLUMNS),
    }
    return known[model]


class CsvExportMixin:
    """For a ModelAdmin: an "Export CSV" button on the changelist that exports exactly what the
    changelist shows (its filters, search and date drill-down), streamed or, above
    settings.DASHBOARD_EXPORT_STREAM_LIMIT rows, as a background job."""

    def get_urls(self):
        from django.urls import path

        info = self.model._meta.app_label, self.model._meta.model_name
        export = path("export.csv", self.admin_site.admin_view(self.export_csv_view), name="{}_{}_export".format(*info))
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        from django.urls import reverse

        info = self.model._meta.app_label, self.model._meta.model_name
        url = reverse("admin:{}_{}_export".format(*info), current_app=self.admin_site.name)
        query = request.GET.urlencode()
        extra_context = {**(extra_context or {}), "export_csv_url": f"{url}?{query}" if query else url}
        return super().changelist_view(request, extra_context=extra_context)

    def export_csv_view(self, request):
        from apps.dashboard import export_jobs

        return export_jobs.changelist_export(self, request)
