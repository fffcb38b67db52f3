from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.providers.clients.registry import CLIENTS
from apps.providers.crypto import EncryptedTextField

TENCENT_APP_ID_RE = re.compile(r"^14\d{8}$")
PLIVO_AUTH_ID_RE = re.compile(r"^(MA|SA)[A-Z0-9]{18}$")
REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")

SECRET_MASK = "•••••••• (set)"


class Provider(models.TextChoices):
    ALIYUN = "aliyun", "Alibaba Cloud"
    TENCENT = "tencent", "Tencent Cloud"
    PLIVO = "plivo", "Plivo"


# Per-provider labels for the generic credential fields, used by the admin form and errors.
CREDENTIAL_LABELS = {
    Provider.ALIYUN: ("AccessKeyId", "AccessKeySecret"),
    Provider.TENCENT: ("SecretId", "SecretKey"),
    Provider.PLIVO: ("Auth ID", "Auth Token"),
}

DEFAULT_REGIONS = {Provider.ALIYUN: "cn-hangzhou", Provider.TENCENT: "ap-guangzhou", Provider.PLIVO: ""}

# Documented per-account request rates for conversion reports (PROVIDERS.md A.7, B.6, C.2).
DEFAULT_REPORT_RATE = {Provider.ALIYUN: 500, Provider.TENCENT: 1000, Provider.PLIVO: 60}


class AlibabaSignature(models.TextChoices):
    ACS3 = "acs3", "ACS3-HMAC-SHA256 (signature V3, the SDK default)"
    RPC_V1 = "rpc_v1", "RPC HMAC-SHA1 (signature V1, legacy)"


class AlibabaConversionApi(models.TextChoices):
    SMS_CONVERSION = "sms_conversion", "SmsConversion (2018-05-01, international API, with To)"
    SMS_CONVERSION_INTL = "sms_conversion_intl", "SmsConversionIntl (2017-05-25)"


class AlibabaTemplateApi(models.TextChoices):
    # Alibaba's Chinese API directory lists AddSmsTemplate and QuerySmsTemplate as offline (已下线):
    # help.aliyun.com/zh/sms/developer-reference/api-dysmsapi-2017-05-25-dir-template-management
    LEGACY = "legacy", "AddSmsTemplate / QuerySmsTemplate (offline at Alibaba)"
    CURRENT = "current", "CreateSmsTemplate / GetSmsTemplate"


class ProviderAccount(models.Model):
    """One set of credentials at one provider. Secrets are encrypted at rest and write-only."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    name = models.CharField("display name", max_length=80, unique=True)
    key_id = models.CharField(
        "key ID", max_length=128, help_text="Alibaba AccessKeyId, Tencent SecretId or Plivo Auth ID."
    )
    key_secret = EncryptedTextField(
        "key secret", blank=True, help_text="Alibaba AccessKeySecret, Tencent SecretKey or Plivo Auth Token."
    )
    region = models.CharField(max_length=32, blank=True, help_text="Alibaba or Tencent region, e.g. cn-hangzhou.")
    sdk_app_id = models.CharField(
        "SmsSdkAppId", max_length=16, blank=True, help_text="Tencent only: the SMS application ID."
    )
    endpoint = models.URLField(
        "endpoint override",
        blank=True,
        help_text="Leave empty for the provider's real endpoint; e.g. http://127.0.0.1:8025 for the simulator.",
    )
    is_enterprise = models.BooleanField(
        "enterprise account",
        default=False,
        help_text="Enterprise accounts may use promotional and international templates.",
    )
    is_active = models.BooleanField(default=True)

    alibaba_signature = models.CharField(max_length=16, choices=AlibabaSignature.choices, default=AlibabaSignature.ACS3)
    alibaba_conversion_api = models.CharField(
        max_length=24, choices=AlibabaConversionApi.choices, default=AlibabaConversionApi.SMS_CONVERSION
    )
    alibaba_template_api = models.CharField(
        max_length=16, choices=AlibabaTemplateApi.choices, default=AlibabaTemplateApi.CURRENT
    )
    conversion_allowlisted = models.BooleanField(
        "conversion reporting enabled",
        default=True,
        help_text="Tencent reports conversions only for allowlisted applications; untick if yours is not.",
    )
    report_rate_limit = models.PositiveIntegerField(
        "report rate limit (per second)",
        default=0,
        validators=[MaxValueValidator(100_000)],
        help_text="0 uses the provider's documented limit.",
    )
    sync_interval_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    retention_days = models.PositiveIntegerField(
        "retention (days)",
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Messages, conversions and delivery receipts older than this are deleted; "
        "the dashboard's hourly figures keep them.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(provider__in=Provider.values), name="provideraccount_provider_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    def __repr__(self) -> str:
        # Never let a secret reach a log line through repr().
        return f"<ProviderAccount {self.pk} {self.provider} {self.name!r}>"

    @property
    def masked_secret(self) -> str:
        return SECRET_MASK if self.key_secret else "not set"

    @property
    def effective_report_rate(self) -> int:
        return self.report_rate_limit or DEFAULT_REPORT_RATE[self.provider]

    @property
    def has_template_api(self) -> bool:
        return self.provider != Provider.PLIVO

    def clean(self) -> None:
        errors: dict[str, str] = {}
        id_label, secret_label = CREDENTIAL_LABELS.get(self.provider, ("key ID", "key secret"))
        if not self.key_secret:
            errors["key_secret"] = f"{secret_label} is required."
        if self.provider == Provider.PLIVO:
            if self.key_id and not PLIVO_AUTH_ID_RE.match(self.key_id):
                errors["key_id"] = (
                    f"{id_label} must be 20 characters starting with MA or SA (e.g. MAXXXXXXXXXXXXXXXXXX)."
                )
            if self.region:
                errors["region"] = "Plivo accounts have no region; leave it empty."
        else:
            if not self.region:
                self.region = DEFAULT_REGIONS[self.provider]
            elif not REGION_RE.match(self.region):
                errors["region"] = "Region must look like cn-hangzhou or ap-guangzhou."
        if self.provider == Provider.TENCENT:
            if not TENCENT_APP_ID_RE.match(self.sdk_app_id or ""):
                errors["sdk_app_id"] = "SmsSdkAppId is required for Tencent: 10 digits starting with 14."
        elif self.sdk_app_id:
            errors["sdk_app_id"] = "SmsSdkAppId is for Tencent accounts only; leave it empty."
        if self.endpoint and self.provider in CLIENTS:
            if refusal := CLIENTS[self.provider].endpoint_refusal(self.endpoint):
                errors["endpoint"] = refusal
        if errors:
            raise ValidationError(errors)


class SyncKind(models.TextChoices):
    DELIVERY = "delivery", "Delivery status"
    TEMPLATES = "templates", "Template review"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    INTERRUPTED = "interrupted", "Interrupted (resumed by a later run)"


class SyncRun(models.Model):
    """One background sync of one kind for one account: what it did, how far it got, why it stopped.

    At most one run of a kind per account is running (a partial unique constraint backs the Redis
    lock). `cursor` marks the last finished group and page, so the next run resumes after it.
    """

    kind = models.CharField(max_length=12, choices=SyncKind.choices)
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=12, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    trigger = models.CharField(max_length=16, default="schedule", help_text="schedule, admin or a resumed run.")
    scope = models.JSONField(default=dict, blank=True, help_text="Only these messages or templates, when set.")
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    pages_fetched = models.PositiveIntegerField(default=0)
    items_seen = models.PositiveIntegerField(default=0)
    items_updated = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0, help_text="Provider errors met (throttling, timeouts...).")
    failure_reason = models.TextField(blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    resumed_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind"], condition=models.Q(status="running"), name="one_running_sync_per_kind"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=SyncKind.values), name="syncrun_kind_known"),
            models.CheckConstraint(condition=models.Q(status__in=SyncStatus.values), name="syncrun_status_known"),
        ]
        indexes = [models.Index(fields=["account", "kind", "started_at"], name="syncrun_account_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sync #{self.pk} of {self.account.name}"

    @property
    def percent(self) -> int:
        if self.status == SyncStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))
