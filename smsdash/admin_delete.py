"""The admin's "are you sure?" summary of a deletion, for rows whose times may not load.

Django's summary (django.contrib.admin.utils.get_deleted_objects) loads every row the deletion
reaches in full, with the row it hangs from: deleting a message loads its conversion and the
message again, deleting an account loads the messages that protect it. A time stored outside what
smsdash accepts may not load into Python at all (1 BC on PostgreSQL, year 0 on SQLite: see
apps/messaging/stored_times.py), so one such row made the delete page and "Delete selected" fail.
The summary names rows by str() only, so this one loads them without their date-time fields; it is
Django's function otherwise, whose collector cannot be swapped from outside.
"""

from __future__ import annotations

from django.contrib.admin.utils import NestedObjects, quote
from django.db import models, router
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst


def _times(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField) and not f.primary_key]


class _TimelessNestedObjects(NestedObjects):
    def related_objects(self, related_model, related_fields, objs):
        queryset = super().related_objects(related_model, related_fields, objs)
        deferred = _times(related_model)
        for field in related_fields:  # selected with the row: the row being deleted, again
            deferred += [f"{field.name}__{name}" for name in _times(field.remote_field.model)]
        return queryset.defer(*deferred)


def _labeller(request, admin_site, perms_needed: set):
    def label(obj):
        opts = obj._meta
        plain = f"{capfirst(opts.verbose_name)}: {obj}"
        if not admin_site.is_registered(obj.__class__):
            return plain
        if not admin_site.get_model_admin(obj.__class__).has_delete_permission(request, obj):
            perms_needed.add(opts.verbose_name)
        try:
            url = reverse(f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", None, (quote(obj.pk),))
        except NoReverseMatch:
            return plain
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)

    return label


def deleted_objects(objs, request, admin_site):
    """What ModelAdmin.get_deleted_objects returns: (nested labels, counts, perms needed, protected).
    A model's __str__ that reads a time still works: the time is then loaded row by row."""
    try:
        first = objs[0]
    except IndexError:
        return [], {}, set(), []
    collector = _TimelessNestedObjects(using=router.db_for_write(first._meta.model), origin=objs)
    collector.collect(objs)
    perms_needed: set = set()
    label = _labeller(request, admin_site, perms_needed)
    to_delete = collector.nested(label)
    protected = [label(obj) for obj in collector.protected]
    counts = {model._meta.verbose_name_plural: len(rows) for model, rows in collector.model_objs.items()}
    return to_delete, counts, perms_needed, protected


class DeleteSummaryWithoutTimesMixin:
    """For a ModelAdmin whose deletions reach rows that may hold an unloadable time."""

    def get_deleted_objects(self, objs, request):
        return deleted_objects(objs, request, self.admin_site)
