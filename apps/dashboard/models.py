"""Rollups, drop alerts and the export audit trail.

HourlyStat rows are derived data: apps/dashboard/rollups.py rebuilds the hours that database
triggers (see migrations/0002) marked dirty in DirtyHour, so they always equal the raw rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.providers.models import Provider, ProviderAccount


class HourlyStat(models.Model):
    """Counts of messages sent in one UTC hour, per account, template and country (cohort by send time:
    a message's delivery and conversion count in the hour it was sent)."""

    hour = models.DateTimeField(help_text="Start of the UTC hour the messages were sent in.")
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="+")
    template_code = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=2)
    requested = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0, help_text="Delivered or failed: the provider sent a receipt.")
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    verified = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hour", "account", "template_code", "country"], name="hourlystat_key"),
        ]
        indexes = [models.Index(fields=["hour", "country"], name="hourlystat_hour_country")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.account_id} {self.template_code} {self.country}"


class SegmentHourStat(models.Model):
    """HourlyStat summed per provider and country: six times fewer rows for the views that need no
    account or template (drops, comparison, funnel, and every chart without those filters)."""

    hour = models.DateTimeField()
    provider = models.CharField(max_length=16, choices=Provider.choices)
    country = models.CharField(max_length=2)
    requested = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    verified = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "provider", "country"], name="segmenthourstat_key")]


class DirtyHour(models.Model):
    """An hour whose rollup is stale; written by database triggers on messages and conversions."""

    hour = models.DateTimeField()


class DropAlert(models.Model):
    """A fall in conversion rate against the trailing baseline of one provider and country."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    country = models.CharField(max_length=2)
    granularity = models.CharField(max_length=4, choices=[("hour", "Hour"), ("day", "Day")])
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    requested = models.PositiveIntegerField()
    verified = models.PositiveIntegerField()
    rate = models.FloatField()
    baseline_requested = models.PositiveIntegerField()
    baseline_verified = models.PositiveIntegerField()
    baseline_rate = models.FloatField()
    drop_percent = models.FloatField(help_text="How far below the baseline, in percent of the baseline.")
    threshold_percent = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notify_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "country", "granularity", "window_start"], name="dropalert_once_per_window"
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.window_start:%Y-%m-%d %H:%M}"
        return f"{self.get_provider_display()} {self.country} {when}: -{self.drop_percent:.0f}%"


class ExportKind(models.TextChoices):
    MESSAGES = "messages", "Sent messages"
    CONVERSIONS = "conversions", "Conversions"
    TEMPLATES = "templates", "SMS templates"
    BREAKDOWN = "breakdown", "Dashboard breakdown"


class ExportState(models.TextChoices):
    STREAMED = "streamed", "Streamed"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportRecord(models.Model):
    """Audit trail of every CSV export; large ones also carry the background job's progress."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=ExportKind.choices)
    filters = models.JSONField(default=dict, help_text="The changelist's or dashboard's query parameters.")
    filename = models.CharField(max_length=120)
    state = models.CharField(max_length=12, choices=ExportState.choices, default=ExportState.STREAMED)
    rows = models.PositiveBigIntegerField(default=0, help_text="Rows written (so far, while running).")
    total = models.PositiveBigIntegerField(null=True, blank=True, help_text="Rows expected, for progress.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename

    @property
    def progress_percent(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        return min(99, int(100 * self.rows / self.total)) if self.total else 0


class OpsKind(models.TextChoices):
    NO_WORKER = "no_worker", "No worker alive"
    REDIS = "redis", "Redis unreachable"
    BACKLOG = "backlog", "Reports waiting too long"
    BREAKER = "breaker", "Breaker open too long"


class OpsIncident(models.Model):
    """An operational problem from the check that first saw it to the one that saw it clear
    (apps/dashboard/ops_alerts.py): alerted once when opened, a recovery note once when cleared."""

    key = models.CharField(max_length=64, help_text="What is wrong and where, e.g. 'breaker:3'.")
    kind = models.CharField(max_length=16, choices=OpsKind.choices)
    account = models.ForeignKey(ProviderAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    summary = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    recovery_notified_at = models.DateTimeField(null=True, blank=True)
    notify_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # Two checkers (the cron job and ops_watch) may see the same problem at once: one row wins.
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(cleared_at__isnull=True), name="opsincident_one_open_per_key"
            ),
        ]

    def __str__(self) -> str:
        return self.summary
