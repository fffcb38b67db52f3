from django.contrib import admin

from apps.dashboard.export import CsvExportMixin
from apps.messaging.admin_filters import ClaimFilter, PossibleRepeatFilter, possible_repeats
from apps.messaging.admin_phones import PhoneErasureAdmin, PhoneMaskingAdminMixin, erase_phone_number
from apps.messaging.admin_times import StoredTimesAdminMixin, shown_time
from apps.messaging.api.admin import (  # issue 4: API tokens, re-send, circuit state
    CONVERSION_READONLY,
    ApiTokenAdmin,
    breaker_state,
    report_pending_now,
    resend_conversions,
)
from apps.messaging.delivery.admin import DeliveryReceiptAdmin, sync_messages_now  # noqa: F401
from apps.messaging.models import ApiToken, Conversion, PhoneErasure, SentMessage
from smsdash.paging import LargeTableAdminMixin


@admin.register(SentMessage)
class SentMessageAdmin(
    PhoneMaskingAdminMixin, StoredTimesAdminMixin, CsvExportMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    guarded_times = ("sent_at", "received_at")  # received_at comes from receipts, older ones unchecked
    list_display = [
        "provider_message_id",
        "account",
        "phone_shown",
        "country",
        "template_code",
        "sent_at_shown",
        "delivery_status",
        "error_code",
    ]
    list_filter = ["account__provider", "account", "delivery_status", "trackable", "sent_at"]
    # Exact matches only: they use the indexes, a LIKE '%…%' over millions of rows would not.
    search_fields = ["=phone", "=provider_message_id", "=template_code", "=out_id"]
    date_hierarchy = "sent_at"
    list_select_related = ["account"]
    raw_id_fields = ["template"]
    readonly_fields = ["country", "delivery_status", "error_code", "received_at", "created_at", "updated_at"]
    actions = [sync_messages_now, erase_phone_number]

    @admin.display(description="sent at", ordering="sent_at")
    def sent_at_shown(self, obj):
        return shown_time(obj, "sent_at")


@admin.register(Conversion)
class ConversionAdmin(StoredTimesAdminMixin, CsvExportMixin, LargeTableAdminMixin, admin.ModelAdmin):
    guarded_times = ("converted_at",)
    related_times = ("message__sent_at", "message__received_at")  # the list names the message only
    list_display = [
        "message",
        "status",
        "converted_at_shown",
        "report_state",
        "report_attempts",
        "last_error",
        "reported_at",
        possible_repeats,
        breaker_state,  # issue 4
    ]
    actions = [resend_conversions, report_pending_now]  # issue 4
    list_filter = [
        "message__account__provider",
        "message__account",
        "status",
        "report_state",
        PossibleRepeatFilter,
        ClaimFilter,
        "converted_at",
    ]
    search_fields = ["=message__phone", "=message__provider_message_id", "=message__template_code"]
    date_hierarchy = "converted_at"
    list_select_related = ["message", "message__account"]
    raw_id_fields = ["message"]
    readonly_fields = [
        "report_state",
        "report_attempts",
        "last_error",
        "provider_request_id",
        "reported_at",
        "claimed_at",
        "next_attempt_at",
        "created_at",
        *CONVERSION_READONLY,  # issue 4
    ]

    @admin.display(description="converted at", ordering="converted_at")
    def converted_at_shown(self, obj):
        return shown_time(obj, "converted_at")


admin.site.register(ApiToken, ApiTokenAdmin)  # issue 4
admin.site.register(PhoneErasure, PhoneErasureAdmin)
