"""Admin pages that keep working when a row holds a time outside apps.messaging.stored_times.window().

Such a time may not even load into Python (1 BC on PostgreSQL, year 0 on SQLite), so the guarded
fields are deferred and read through two annotations computed by the database: the time when it is
inside the window, and the stored value as the database's text. The list shows the text of an
outside time; the change page shows it read-only and leaves the field empty, so saving asks for a
correct time instead of writing back what could not be read (a read-only one is left as stored).
Deleting lists the rows it reaches without their times (smsdash/admin_delete.py). Django's date
hierarchy loads the first, last and every distinct date of the list: it is offered for the times
inside the window.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.db.models import Case, CharField, DateTimeField, F, When
from django.db.models.functions import Cast
from django.urls import NoReverseMatch, reverse
from django.utils.text import Truncator

from apps.messaging import stored_times
from smsdash.admin_delete import DeleteSummaryWithoutTimesMixin

OUTSIDE_WINDOW = "{stored} (outside {earliest} .. {latest})"


def _inside_name(field: str) -> str:
    return f"{field.replace('__', '_')}_inside"


def _stored_name(field: str) -> str:
    return f"{field.replace('__', '_')}_stored"


def shown_time(obj, field: str):
    """The time to show for obj's field: a datetime inside the window, else the stored text."""
    if not hasattr(obj, _inside_name(field)):  # not loaded through the guarded queryset
        return getattr(obj, field)
    inside = getattr(obj, _inside_name(field))
    if inside is not None:
        return inside
    stored = getattr(obj, _stored_name(field))
    if stored is None:
        return None
    earliest, latest = stored_times.window()
    return OUTSIDE_WINDOW.format(stored=stored, earliest=earliest.date(), latest=latest.date())


class _WindowedHierarchyChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # Read by the date_hierarchy tag only, after the page's rows were fetched above.
        if self.date_hierarchy:
            self.queryset = self.queryset.filter(stored_times.inside(self.date_hierarchy))


class _DeferringRawIdWidget(ForeignKeyRawIdWidget):
    """Django's raw-id widget, loading the related row for its label without the deferred times."""

    def __init__(self, *args, deferred: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.deferred = deferred

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            obj = self.rel.model._default_manager.using(self.db).defer(*self.deferred).get(**{key: value})
        except (ValueError, self.rel.model.DoesNotExist, ValidationError):
            return "", ""
        info = (self.admin_site.name, obj._meta.app_label, obj._meta.model_name)
        try:
            url = reverse("{}:{}_{}_change".format(*info), args=(obj.pk,))
        except NoReverseMatch:
            url = ""
        return Truncator(obj).words(14), url


class StoredTimesAdminMixin(DeleteSummaryWithoutTimesMixin):
    """For a ModelAdmin: guarded_times are the model's datetime fields that may lie outside the
    window (shown through shown_time), related_times those of list_select_related rows that are
    only deferred (e.g. "message__sent_at", when the list shows the message by its name)."""

    guarded_times: tuple[str, ...] = ()
    related_times: tuple[str, ...] = ()

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.related_times:  # the page's title names the related row: load it without its times
            queryset = queryset.select_related(*self._related_deferred())
        queryset = queryset.defer(*self.guarded_times, *self.related_times)
        annotations = {}
        for field in self.guarded_times:
            annotations[_inside_name(field)] = Case(
                When(stored_times.inside(field), then=F(field)), output_field=DateTimeField()
            )
            annotations[_stored_name(field)] = Cast(field, CharField())
        return queryset.annotate(**annotations)

    def _related_deferred(self) -> dict[str, tuple[str, ...]]:
        deferred: dict[str, tuple[str, ...]] = {}
        for path in self.related_times:
            relation, field = path.split("__", 1)
            deferred[relation] = (*deferred.get(relation, ()), field)
        return deferred

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        deferred = self._related_deferred().get(db_field.name)
        if deferred and db_field.name in self.raw_id_fields:
            kwargs["widget"] = _DeferringRawIdWidget(
                db_field.remote_field, self.admin_site, using=kwargs.get("using"), deferred=deferred
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changelist(self, request, **kwargs):
        return _WindowedHierarchyChangeList

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        for field in self.guarded_times if obj is not None else ():
            setattr(obj, field, getattr(obj, _inside_name(field)))  # None (an empty field) when outside
        return obj

    def save_model(self, request, obj, form, change):
        # A read-only time outside the window was emptied by get_object: keep what is stored.
        kept = {f for f in self.guarded_times if getattr(obj, _inside_name(f), True) is None and f not in form.fields}
        if not (change and kept):
            return super().save_model(request, obj, form, change)
        obj.save(update_fields=[f.name for f in obj._meta.concrete_fields if not f.primary_key and f.name not in kept])

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and any(getattr(obj, _inside_name(f), True) is None for f in self.guarded_times):
            fields.append("times_outside_window")
        return fields

    @admin.display(description="Stored times smsdash cannot use")
    def times_outside_window(self, obj) -> str:
        outside = [f for f in self.guarded_times if getattr(obj, _inside_name(f), True) is None]
        return "; ".join(f"{f}: {shown_time(obj, f)}" for f in outside)
