"""Admin pages show phone numbers masked to users without the "view phone numbers" permission.

The changelist's exact search still matches the full number (the user typed it); the rows show it
masked. Whether the user may see numbers rides on the page's queryset as an annotation, so the
list's display method knows it without keeping the request on the shared ModelAdmin instance.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import BooleanField, Value

from apps.messaging.phone import mask_phone
from apps.messaging.phone_access import can_see_phones

VISIBLE = "phones_visible"


class PhoneMaskingAdminMixin:
    """For a ModelAdmin of a model with a `phone` field: list it as "phone_shown" in list_display."""

    def get_queryset(self, request):
        visible = Value(can_see_phones(request.user), output_field=BooleanField())
        return super().get_queryset(request).annotate(**{VISIBLE: visible})

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is None or can_see_phones(request.user):
            return fields  # an add form asks for the number the user types
        return ["phone_shown" if f == "phone" else f for f in fields if f != "phone_shown"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not can_see_phones(request.user):
            fields.append("phone_shown")
        return fields

    @admin.display(description="phone")
    def phone_shown(self, obj) -> str:
        return obj.phone if getattr(obj, VISIBLE, False) else mask_phone(obj.phone)
