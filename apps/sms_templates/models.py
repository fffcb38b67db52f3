from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.providers.clients import CLIENTS
from apps.providers.models import Provider, ProviderAccount
from apps.sms_templates import rules


class TemplateType(models.TextChoices):
    VERIFICATION = "verification", "Verification code"
    NOTIFICATION = "notification", "Notification"
    PROMOTIONAL = "promotional", "Promotional"
    INTERNATIONAL = "international", "International"


class InternationalKind(models.TextChoices):
    """What an international template is, which the providers file it as (Alibaba IntlType, Tencent SmsType)."""

    VERIFICATION = "verification", "Verification code"
    NOTIFICATION = "notification", "Notification"
    PROMOTIONAL = "promotional", "Promotional"


ENTERPRISE_ONLY_TYPES = {TemplateType.PROMOTIONAL, TemplateType.INTERNATIONAL}
SIGN_NAME_MAX = 64
SIGN_NAME_REQUIRED = (
    "Sign name is required: {account} submits {type} templates with the sign name they are sent with "
    "(Alibaba CreateSmsTemplate RelatedSignName)."
)


class TemplateStatus(models.TextChoices):
    """The internal workflow; the provider's own review is provider_status."""

    DRAFT = "draft", "Draft"
    AWAITING_REVIEW = "awaiting_review", "Awaiting internal review"
    SENT_BACK = "sent_back", "Sent back with comments"
    INTERNALLY_APPROVED = "internally_approved", "Internally approved"
    SUBMITTED = "submitted", "Submitted to provider"
    PROVIDER_REVIEW = "provider_review", "Under provider review"
    APPROVED = "approved", "Approved (ready to use)"
    REJECTED = "rejected", "Rejected by provider"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ProviderReviewStatus(models.TextChoices):
    NONE = "", "Not submitted"
    REVIEWING = "reviewing", "Reviewing"
    APPROVED_PENDING = "approved_pending", "Approved, not yet effective"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


def allowed_types(account: ProviderAccount | None) -> list[TemplateType]:
    """The template types an account may use: promotional and international need enterprise."""
    if account is not None and not account.is_enterprise:
        return [t for t in TemplateType if t not in ENTERPRISE_ONLY_TYPES]
    return list(TemplateType)


class SmsTemplate(models.Model):
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="templates")
    name = models.CharField(max_length=64)
    type = models.CharField(max_length=16, choices=TemplateType.choices)
    content = models.TextField()
    sign_name = models.CharField(
        max_length=SIGN_NAME_MAX,
        blank=True,
        help_text="The approved sign name messages with this template are sent with; Alibaba reviews them together.",
    )
    international_kind = models.CharField(
        max_length=16,
        choices=InternationalKind.choices,
        default=InternationalKind.VERIFICATION,
        help_text="International templates only: filed with the provider as this kind of message.",
    )
    remark = models.CharField(
        max_length=255, help_text="For the provider's reviewers: the use case, at most 100 characters."
    )
    provider_template_code = models.CharField(
        max_length=64, blank=True, help_text="Alibaba TemplateCode or Tencent TemplateId, set by the provider."
    )
    status = models.CharField(max_length=24, choices=TemplateStatus.choices, default=TemplateStatus.DRAFT)
    provider_status = models.CharField(
        max_length=24, choices=ProviderReviewStatus.choices, default=ProviderReviewStatus.NONE, blank=True
    )
    provider_reason = models.TextField("provider's reason", blank=True)
    last_error = models.TextField(blank=True, help_text="The last provider error on submission, in words.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_templates", null=True, blank=True
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reviewed_templates",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When the provider approved or rejected it.")
    review_check_at = models.DateTimeField(
        null=True, blank=True, help_text="When smsdash asks the provider for its review next, after a submission."
    )
    review_checks = models.PositiveSmallIntegerField(default=0, help_text="Follow-up review checks made so far.")

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["status", "account"], name="template_status_account"),
            models.Index(fields=["provider_template_code"], name="template_provider_code"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider_template_code"],
                condition=~models.Q(provider_template_code=""),
                name="template_code_unique_per_account",
            ),
            models.CheckConstraint(condition=models.Q(type__in=TemplateType.values), name="template_type_known"),
            models.CheckConstraint(condition=models.Q(status__in=TemplateStatus.values), name="template_status_known"),
            models.CheckConstraint(
                condition=models.Q(international_kind__in=InternationalKind.values), name="template_intl_kind_known"
            ),
        ]
        permissions = [("review_smstemplate", "Can review templates and submit them to the provider")]
        verbose_name = "SMS template"

    def __str__(self) -> str:
        return self.name

    @property
    def variables(self) -> list[str]:
        return rules.find_variables(self.content)

    def clean(self) -> None:
        errors = rules.check_lengths(name=self.name or "", content=self.content or "", remark=self.remark or "")
        if "content" not in errors:
            problem = rules.check_variables(
                content=self.content, is_verification=self.type == TemplateType.VERIFICATION
            )
            if problem:
                errors["content"] = problem
        account = self.account if self.account_id else None
        if account is not None:
            errors.update(self._account_errors(account))
        if errors:
            raise ValidationError(errors)

    def _account_errors(self, account: ProviderAccount) -> dict[str, str]:
        if account.provider == Provider.PLIVO:
            return {"account": rules.NO_TEMPLATE_API.format(account=account.name)}
        label = TemplateType(self.type).label if self.type in TemplateType.values else self.type
        if self.type in ENTERPRISE_ONLY_TYPES and not account.is_enterprise:
            return {"type": rules.ENTERPRISE_ONLY.format(type=label, account=account.name)}
        needs_sign_name = CLIENTS[account.provider].template_needs_sign_name(account, self.type)
        if needs_sign_name and not (self.sign_name or "").strip():
            return {"sign_name": SIGN_NAME_REQUIRED.format(account=account.name, type=label.lower())}
        return {}


class TemplateTransition(models.Model):
    """One step of a template's history: who moved it from which state to which, and why."""

    template = models.ForeignKey(SmsTemplate, on_delete=models.CASCADE, related_name="transitions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    from_status = models.CharField(max_length=24, choices=TemplateStatus.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=TemplateStatus.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.template}: {self.from_status or '—'} → {self.to_status}"


class SubmissionAttempt(models.Model):
    """One request to a provider's template API: the log the submission limits count, and the
    claim a job takes so a retried job never submits the same template twice."""

    template = models.ForeignKey(SmsTemplate, on_delete=models.CASCADE, related_name="submission_attempts")
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="template_submissions")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    template_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    restarts = models.PositiveSmallIntegerField(default=0, help_text="Times the sweep queued its lost job again.")

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["account", "requested_at"], name="submission_account_time")]

    def __str__(self) -> str:
        return f"{self.template} at {self.requested_at:%Y-%m-%d %H:%M:%S}"
