from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.messaging import phone as phones
from apps.providers.models import ProviderAccount
from apps.sms_templates.models import SmsTemplate

CONVERSION_BEFORE_SEND = "Conversion time must be after the message was sent ({sent_at})."
CONVERSION_IN_FUTURE = "Conversion time must not be in the future."


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired (no receipt within the provider's query window)"


class SentMessage(models.Model):
    """One SMS the application sent, identified by the provider's id for it."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="messages")
    provider_message_id = models.CharField(
        max_length=64, help_text="Alibaba BizId, Tencent SerialNo or Plivo message_uuid."
    )
    phone = models.CharField(max_length=20, help_text="Recipient in E.164, e.g. +8613800138000.")
    country = models.CharField(max_length=2, editable=False, help_text="ISO 3166 code derived from the phone.")
    template = models.ForeignKey(SmsTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    template_code = models.CharField(max_length=64, blank=True)
    content = models.TextField(blank=True)
    out_id = models.CharField("out ID", max_length=64, blank=True, help_text="The application's own reference.")
    trackable = models.BooleanField(default=True, help_text="Plivo counts conversions only for trackable messages.")
    sent_at = models.DateTimeField()
    delivery_status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    error_code = models.CharField(max_length=64, blank=True, help_text="The provider's or carrier's status code.")
    received_at = models.DateTimeField(null=True, blank=True, help_text="When the handset received it.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sent_at"]
        # Phone numbers are personal data: pages and exports mask them for users without it.
        permissions = [("view_phone_number", "Can view phone numbers")]
        constraints = [
            models.UniqueConstraint(fields=["account", "provider_message_id"], name="message_id_unique_per_account"),
            models.CheckConstraint(
                condition=models.Q(delivery_status__in=DeliveryStatus.values), name="message_delivery_status_known"
            ),
        ]
        indexes = [
            models.Index(fields=["sent_at"], name="message_sent_at"),
            models.Index(fields=["account", "sent_at"], name="message_account_sent_at"),
            models.Index(fields=["country", "sent_at"], name="message_country_sent_at"),
            models.Index(fields=["phone", "sent_at"], name="message_phone_sent_at"),
            models.Index(fields=["account", "out_id"], name="message_account_out_id"),
            models.Index(fields=["template_code"], name="message_template_code"),
            # The delivery sync only ever looks at pending messages: keep that index small.
            models.Index(
                fields=["account", "sent_at"],
                condition=models.Q(delivery_status="pending"),
                name="message_pending",
            ),
        ]

    def __str__(self) -> str:
        # Masked for everyone: the name reaches labels, titles and the admin's action log.
        return f"{self.provider_message_id} → {phones.mask_phone(self.phone)}"

    def clean(self) -> None:
        if not phones.is_e164(self.phone):
            raise ValidationError({"phone": phones.INVALID_PHONE})

    def save(self, *args, **kwargs):
        self.country = phones.country_of(self.phone)
        super().save(*args, **kwargs)


class ConversionStatus(models.TextChoices):
    """Plivo's conversion vocabulary; Alibaba's Delivered=true and Tencent's report mean CONVERTED."""

    CONVERTED = "converted", "Converted"
    NOT_CONVERTED = "not_converted", "Not converted"
    CONVERTED_WITH_OTHERS = "converted_with_others", "Converted with others"


class ReportState(models.TextChoices):
    PENDING = "pending", "Pending"
    REPORTED = "reported", "Reported"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not reportable"


class Conversion(models.Model):
    """What became of a message's code, and whether the provider has been told."""

    message = models.OneToOneField(SentMessage, on_delete=models.CASCADE, related_name="conversion")
    status = models.CharField(max_length=24, choices=ConversionStatus.choices)
    converted_at = models.DateTimeField(help_text="When the user entered the code (or gave up).")
    report_state = models.CharField(max_length=12, choices=ReportState.choices, default=ReportState.PENDING)
    report_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, help_text="Why the report failed or cannot be made, in words.")
    provider_request_id = models.CharField(max_length=128, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it to report.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Which worker holds the claim (empty: nobody)."
    )
    repeat_reports = models.PositiveIntegerField(
        default=0,
        help_text="Reports that may have reached the provider twice: a worker died between sending and recording.",
    )
    duplicate_submissions = models.PositiveIntegerField(
        default=0, help_text="How often the application submitted this conversion again (answered as duplicate)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-converted_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ConversionStatus.values), name="conversion_status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(report_state__in=ReportState.values), name="conversion_report_state_known"
            ),
        ]
        indexes = [
            models.Index(fields=["converted_at"], name="conversion_converted_at"),
            models.Index(
                fields=["created_at"],
                condition=models.Q(report_state="pending"),
                name="conversion_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message.provider_message_id}: {self.get_status_display()}"

    def clean(self) -> None:
        if self.converted_at is None or not self.message_id:
            return
        if self.converted_at <= self.message.sent_at:
            raise ValidationError(
                {"converted_at": CONVERSION_BEFORE_SEND.format(sent_at=self.message.sent_at.isoformat())}
            )
        if self.converted_at > timezone.now():
            raise ValidationError({"converted_at": CONVERSION_IN_FUTURE})


class ApiToken(models.Model):
    """A bearer token for the ingest API, scoped to one provider account.

    Only the SHA-256 of the token is stored: the token itself is shown once, when it is created.
    Tokens carry 256 bits of randomness, so a fast unsalted hash is enough (no password hashing).
    """

    PREFIX = "smsd_"

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What uses it, e.g. 'login service, production'.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False, help_text="The first characters, to recognise it.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API token"
        ordering = ["account", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    def __repr__(self) -> str:
        return f"<ApiToken {self.pk} account={self.account_id} {self.hint}…>"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ReceiptSource(models.TextChoices):
    PULL = "pull", "Pulled from the provider"
    WEBHOOK = "webhook", "Pushed by the provider"


class DeliveryReceipt(models.Model):
    """A delivery status for a message smsdash does not (yet) know.

    Receipts can arrive before the application reports the send, and a provider's query can list
    messages another system sent: both are kept here, never dropped, and matched to their message
    when it arrives (apps/messaging/delivery/receipts.py).
    """

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="delivery_receipts")
    # The provider's message id when the receipt carries one (Tencent sid, Plivo MessageUUID, Alibaba
    # biz_id); Alibaba's QuerySendDetails rows carry none, so they are matched by phone and send time.
    provider_message_id = models.CharField(max_length=64, blank=True)
    fingerprint = models.CharField(max_length=64, editable=False, help_text="What makes two copies the same receipt.")
    phone = models.CharField(max_length=20, blank=True)
    state = models.CharField(max_length=12, choices=DeliveryStatus.choices)
    error_code = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    template_code = models.CharField(max_length=64, blank=True)
    out_id = models.CharField("out ID", max_length=64, blank=True)
    source = models.CharField(max_length=8, choices=ReceiptSource.choices)
    message = models.ForeignKey(
        SentMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="late_receipts"
    )
    matched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "fingerprint"], name="receipt_fingerprint_unique"),
        ]
        indexes = [
            models.Index(
                fields=["account", "provider_message_id"],
                condition=models.Q(matched_at__isnull=True),
                name="receipt_unmatched_id",
            ),
            models.Index(
                fields=["account", "phone", "sent_at"],
                condition=models.Q(matched_at__isnull=True),
                name="receipt_unmatched_phone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_message_id or phones.mask_phone(self.phone)}: {self.get_state_display()}"


class WebhookNonce(models.Model):
    """Nonces of signed callbacks already applied (Plivo V3), so a replayed request is recognised."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=128)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "nonce"], name="webhook_nonce_unique")]
        indexes = [models.Index(fields=["seen_at"], name="webhook_nonce_seen_at")]


class PhoneErasure(models.Model):
    """That a phone number was erased on request: who, when, how many rows; never the number."""

    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    erased_at = models.DateTimeField(auto_now_add=True)
    messages = models.PositiveIntegerField(default=0, help_text="Messages whose number and text were removed.")
    conversions = models.PositiveIntegerField(default=0, help_text="Conversions of those messages (kept, anonymous).")
    receipts = models.PositiveIntegerField(default=0, help_text="Delivery receipts whose number was removed.")
    exports = models.PositiveIntegerField(default=0, help_text="Export files on disk holding it, deleted.")

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"Erasure {self.pk} ({self.erased_at:%Y-%m-%d %H:%M} UTC)"
