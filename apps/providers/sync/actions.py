"""'Sync now' admin actions for accounts and templates (messages: apps/messaging/delivery/admin.py)."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import admin, messages
from django.http import HttpRequest

from apps.providers.models import SyncKind
from apps.providers.sync.schedule import kinds_for, sync_request

ACCOUNTS_STARTED = "Sync started for {count} account(s): delivery status{templates}; follow it under Sync runs."
TEMPLATES_STARTED = "Review status sync started for {count} template(s); follow it under Sync runs."


@admin.action(description="Sync now (delivery status and template review)")
def sync_accounts_now(modeladmin, request: HttpRequest, queryset) -> None:
    with_templates = False
    for account in queryset:
        for kind in kinds_for(account):
            sync_request(account=account, kind=kind, trigger="admin")
            with_templates |= kind == SyncKind.TEMPLATES
    text = ACCOUNTS_STARTED.format(count=len(queryset), templates=" and template review" if with_templates else "")
    modeladmin.message_user(request, text, messages.SUCCESS)


@admin.action(description="Sync review status now")
def sync_templates_now(modeladmin, request: HttpRequest, queryset) -> None:
    by_account: dict = defaultdict(list)
    for template in queryset.select_related("account"):
        by_account[template.account].append(template.pk)
    for account, ids in by_account.items():
        sync_request(account=account, kind=SyncKind.TEMPLATES, ids=ids, trigger="admin")
    count = sum(len(ids) for ids in by_account.values())
    modeladmin.message_user(request, TEMPLATES_STARTED.format(count=count), messages.SUCCESS)
