from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_rollup_triggers(sender, using="default", **kwargs):
    from django.db import connections

    from apps.dashboard.triggers import ensure_triggers

    connection = connections[using]
    tables = set(connection.introspection.table_names())
    if {"dashboard_dirtyhour", "messaging_sentmessage", "messaging_conversion"} <= tables:
        ensure_triggers(connection)


class DashboardConfig(AppConfig):
    name = "apps.dashboard"
    verbose_name = "Dashboard"

    def ready(self):
        # After every migrate: another app's migration may have rebuilt (and so un-triggered) a table.
        post_migrate.connect(_ensure_rollup_triggers, sender=self, dispatch_uid="dashboard-rollup-triggers")
