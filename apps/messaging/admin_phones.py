"""Admin pages show phone numbers masked to users without the "view phone numbers" permission.

The changelist's exact search still matches the full number (the user typed it); the rows show it
masked. Whether the user may see numbers rides on the page's queryset as an annotation, so the
list's display method knows it without keeping the request on the shared ModelAdmin instance.

Also the "Erase this phone number" action and the list of erasures done.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import BooleanField, Value

from apps.dashboard.erasure import phone_erase
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


ERASE_ONE_NUMBER = "Select the rows of one phone number (search for it by its full number), then erase it."
ERASED = (
    "Phone number erased: {messages} message(s), {conversions} conversion(s), {receipts} receipt(s) and "
    "{exports} export file(s); recorded as erasure {pk}."
)


@admin.action(permissions=["delete"], description="Erase this phone number")
def erase_phone_number(modeladmin, request, queryset) -> None:
    """Erase the one phone number of the selected rows everywhere (a person's request): one number at
    a time, so a select-all can never erase a whole table."""
    numbers = list(queryset.exclude(phone="").order_by().values_list("phone", flat=True).distinct()[:2])
    if len(numbers) != 1:
        modeladmin.message_user(request, ERASE_ONE_NUMBER, messages.ERROR)
        return
    erasure = phone_erase(phone=numbers[0], user=request.user)
    counts = {f: getattr(erasure, f) for f in ("messages", "conversions", "receipts", "exports")}
    modeladmin.message_user(request, ERASED.format(pk=erasure.pk, **counts), messages.SUCCESS)


class PhoneErasureAdmin(admin.ModelAdmin):
    list_display = ["erased_at", "erased_by", "messages", "conversions", "receipts", "exports"]
    list_select_related = ["erased_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record that an erasure was done is kept
