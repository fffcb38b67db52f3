"""Admin for receipts kept without their message, and the "Sync delivery status now" action."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import admin, messages
from django.http import HttpRequest

from apps.messaging.admin_phones import PhoneMaskingAdminMixin, erase_phone_number
from apps.messaging.admin_times import StoredTimesAdminMixin, shown_time
from apps.messaging.models import DeliveryReceipt
from smsdash.paging import LargeTableAdminMixin

SYNC_STARTED = "Delivery sync started for {count} message(s) of {accounts} account(s); follow it under Sync runs."


class MatchedFilter(admin.SimpleListFilter):
    title = "matched"
    parameter_name = "matched"

    def lookups(self, request, model_admin):
        return [("no", "Not matched yet"), ("yes", "Matched to a message")]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(matched_at__isnull=self.value() == "no")
        return queryset


@admin.register(DeliveryReceipt)
class DeliveryReceiptAdmin(PhoneMaskingAdminMixin, StoredTimesAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    # Receipts stored before the input boundary may hold any time; the matched message is named only.
    guarded_times = ("sent_at", "received_at")
    related_times = ("message__sent_at", "message__received_at")
    list_display = [
        "provider_message_id",
        "account",
        "phone_shown",
        "state",
        "error_code",
        "sent_at_shown",
        "received_at_shown",
        "source",
        "message",
        "created_at",
    ]
    list_filter = [MatchedFilter, "state", "source", "account__provider", "account"]
    search_fields = ["=provider_message_id", "=phone", "=out_id"]
    list_select_related = ["account", "message"]
    raw_id_fields = ["message"]
    actions = [erase_phone_number]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="sent at", ordering="sent_at")
    def sent_at_shown(self, obj):
        return shown_time(obj, "sent_at")

    @admin.display(description="received at", ordering="received_at")
    def received_at_shown(self, obj):
        return shown_time(obj, "received_at")


@admin.action(description="Sync delivery status now")
def sync_messages_now(modeladmin, request: HttpRequest, queryset) -> None:
    from apps.providers.models import SyncKind
    from apps.providers.sync.schedule import sync_request

    by_account: dict = defaultdict(list)
    for message in queryset.select_related("account").only("pk", "account"):
        by_account[message.account].append(message.pk)
    for account, ids in by_account.items():
        sync_request(account=account, kind=SyncKind.DELIVERY, ids=ids, trigger="admin")
    count = sum(len(ids) for ids in by_account.values())
    modeladmin.message_user(request, SYNC_STARTED.format(count=count, accounts=len(by_account)), messages.SUCCESS)
