"""Every write to a template goes through here: the admin form, the admin actions, the jobs and the
provider sync call these functions, so the workflow's guards (state, role, four eyes, limits) hold
whatever the entry point.

Each service locks the template row, checks the state it finds there (not the caller's copy), and
records a TemplateTransition for every status change. Edits are recorded as a transition from a
state to itself, which is also how four eyes knows who wrote a template.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.providers.clients.base import (
    ErrorKind,
    ProviderError,
    ReviewState,
    SubmitResult,
    TemplateReview,
    TemplateSubmission,
)
from apps.providers.models import ProviderAccount
from apps.sms_templates import limits, roles
from apps.sms_templates.models import (
    ProviderReviewStatus,
    SmsTemplate,
    SubmissionAttempt,
    TemplateStatus,
    TemplateTransition,
    TemplateType,
)

S = TemplateStatus

ONLY_AUTHORS = "Only template authors may {action}; {user} is not in the “Template authors” group."
ONLY_REVIEWERS = "Only template reviewers may {action}; {user} is not in the “Template reviewers” group."
ONLY_AUTHORS_OR_REVIEWERS = "Only template authors or reviewers may {action}; {user} is neither."
FOUR_EYES = "Four eyes: {user} wrote or edited “{template}”, so another reviewer must approve it."
WRONG_STATE = "“{template}” is {status}: it cannot be {action} (only from: {allowed})."
COMMENT_REQUIRED = "Comment is required when sending a template back: tell the author what to change."
ACCOUNT_INACTIVE = "{account} is inactive: activate the account before submitting templates to it."
NO_PROVIDER_CODE = "“{template}” has no provider template code yet: there is no provider review to refresh."
CANCELLED_REASON = "The provider cancelled the review."
SUBMISSION_FAILED = "Submission failed: {error}"
OUTCOME_UNKNOWN = (
    "The worker submitting “{name}” stopped before the provider's answer was recorded; check the "
    "provider's console for this template before submitting it again."
)
SUBMISSION_RUNNING = (
    "“{template}” is being submitted to the provider right now: wait for the outcome, or for {minutes} minutes "
    "without one, before moving it on."
)
RETRY_AFTER_START = (
    "The worker submitting “{template}” started and never finished, so the provider may have the template: "
    "check the provider's console, then send it back (or wait for the sweep to give it back)."
)
CLOSED_BY = "Closed by {user}: {action} while its submission job was lost."
RETRIED = "The submission job was lost; submitting again."
CREATED = "Created."
EDITED = "Edited: {fields}."
ERROR_IN_WORDS = {
    ErrorKind.AUTH: "The provider refused the account's credentials or permissions",
    ErrorKind.INVALID: "The provider refused the template request",
    ErrorKind.THROTTLED: "The provider is rate limiting this account; submit again later",
    ErrorKind.TRANSIENT: "The provider could not be reached or failed; submit again",
    ErrorKind.UNSUPPORTED: "The provider has no template API",
}

SUBMIT_FOR_REVIEW_FROM = (S.DRAFT, S.SENT_BACK, S.REJECTED)
APPROVE_FROM = (S.AWAITING_REVIEW,)
SEND_BACK_FROM = (S.AWAITING_REVIEW, S.INTERNALLY_APPROVED, S.SUBMITTED)  # submitted: only when stuck
SUBMIT_TO_PROVIDER_FROM = (S.INTERNALLY_APPROVED,)
WITHDRAW_FROM = (S.DRAFT, S.AWAITING_REVIEW, S.SENT_BACK, S.INTERNALLY_APPROVED, S.APPROVED, S.REJECTED)
EDITABLE = (S.DRAFT, S.SENT_BACK, S.REJECTED)
UNDER_PROVIDER = (S.PROVIDER_REVIEW, S.APPROVED, S.REJECTED)
RETRY_SUBMISSION_FROM = (S.SUBMITTED,)  # only when stuck
EDITABLE_FIELDS = ("account", "name", "type", "international_kind", "content", "sign_name", "remark")

# provider review state -> (provider_status, workflow status)
REVIEW_OUTCOME = {
    ReviewState.REVIEWING: (ProviderReviewStatus.REVIEWING, S.PROVIDER_REVIEW),
    ReviewState.APPROVED_PENDING: (ProviderReviewStatus.APPROVED_PENDING, S.PROVIDER_REVIEW),
    ReviewState.APPROVED: (ProviderReviewStatus.APPROVED, S.APPROVED),
    ReviewState.REJECTED: (ProviderReviewStatus.REJECTED, S.REJECTED),
    ReviewState.CANCELLED: (ProviderReviewStatus.CANCELLED, S.REJECTED),
}


LOST_AFTER = timedelta(minutes=2)  # queued but never started: Redis lost the job, or no worker ran
STALE_AFTER = timedelta(minutes=15)  # started but never finished: the worker died mid-call
# After a submission the provider is asked again on this back-off (the gaps between two checks), as
# Alibaba and Tencent often decide within minutes; after the last one the account's regular template
# sync (every sync_interval_minutes) follows the review.
REVIEW_FOLLOW_UP = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
)


class TemplateWorkflowError(Exception):
    """A refused workflow step; the message says why, in words a user understands."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TemplateRoleError(TemplateWorkflowError):
    """The actor's role does not allow the step (HTTP 403 in views)."""


class TemplateRuleError(TemplateWorkflowError):
    """The template breaks a type rule (rules.py); errors maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(" ".join(message for messages in errors.values() for message in messages))
        self.errors = errors


class SubmissionLimitError(TemplateWorkflowError):
    def __init__(self, message: str, *, next_at):
        super().__init__(message)
        self.next_at = next_at


def _require(allowed: bool, message: str, *, actor: Any, action: str) -> None:
    if not allowed:
        raise TemplateRoleError(message.format(action=action, user=getattr(actor, "username", "nobody")))


def _require_state(template: SmsTemplate, allowed: tuple[TemplateStatus, ...], action: str) -> None:
    if template.status not in allowed:
        raise TemplateWorkflowError(
            WRONG_STATE.format(
                template=template.name,
                status=TemplateStatus(template.status).label.lower(),
                action=action,
                allowed=", ".join(s.label.lower() for s in allowed),
            )
        )


def _validate(template: SmsTemplate) -> None:
    try:
        template.full_clean()
    except ValidationError as exc:
        raise TemplateRuleError(exc.message_dict) from exc


def _locked(template: SmsTemplate) -> SmsTemplate:
    return SmsTemplate.objects.select_for_update().select_related("account").get(pk=template.pk)


def _move(template: SmsTemplate, *, to: TemplateStatus, actor: Any = None, comment: str = "", **fields: Any) -> None:
    TemplateTransition.objects.create(
        template=template, actor=actor, from_status=template.status, to_status=to, comment=comment
    )
    template.status = to
    for name, value in fields.items():
        setattr(template, name, value)
    template.save()


def has_written(template: SmsTemplate, user: Any) -> bool:
    """The author, or anyone who edited it (an edit is a transition from a state to itself)."""
    if template.author_id == user.pk:
        return True
    return template.transitions.filter(actor=user, from_status=F("to_status")).exists()


@transaction.atomic
def template_create(
    *, actor: Any, account: ProviderAccount, name: str, type: str, content: str, remark: str, **optional: Any
):
    """optional: sign_name, international_kind (the model's defaults otherwise)."""
    _require(roles.is_author(actor), ONLY_AUTHORS, actor=actor, action="create templates")
    template = SmsTemplate(
        account=account, name=name, type=type, content=content, remark=remark, author=actor, **optional
    )
    _validate(template)
    template.save()
    TemplateTransition.objects.create(template=template, actor=actor, to_status=S.DRAFT, comment=CREATED)
    return template


def template_submission(template: SmsTemplate) -> TemplateSubmission:
    """What the provider is sent: an international template goes as its kind, flagged international."""
    international = template.type == TemplateType.INTERNATIONAL
    return TemplateSubmission(
        name=template.name,
        type=template.international_kind if international else template.type,
        content=template.content,
        remark=template.remark,
        international=international,
        sign_name=template.sign_name,
    )


@transaction.atomic
def template_update(*, template: SmsTemplate, actor: Any, **changes: Any) -> list[str]:
    """Edit a draft, sent-back or rejected template; returns the names of the fields that changed."""
    _require(roles.is_author(actor), ONLY_AUTHORS, actor=actor, action="edit templates")
    locked = _locked(template)
    _require_state(locked, EDITABLE, "edited")
    changed = [f for f in EDITABLE_FIELDS if f in changes and getattr(locked, f) != changes[f]]
    if not changed:
        return []
    for name in changed:
        setattr(locked, name, changes[name])
    _validate(locked)
    _move(locked, to=locked.status, actor=actor, comment=EDITED.format(fields=", ".join(changed)))
    template.refresh_from_db()
    return changed


@transaction.atomic
def template_submit_for_review(*, template: SmsTemplate, actor: Any, comment: str = "") -> None:
    _require(roles.is_author(actor), ONLY_AUTHORS, actor=actor, action="submit templates for review")
    locked = _locked(template)
    _require_state(locked, SUBMIT_FOR_REVIEW_FROM, "submitted for internal review")
    _validate(locked)  # a template written before a rule changed must still pass it
    _move(locked, to=S.AWAITING_REVIEW, actor=actor, comment=comment, reviewer=None)
    template.refresh_from_db()


@transaction.atomic
def template_approve_internally(*, template: SmsTemplate, actor: Any, comment: str = "") -> None:
    _require(roles.is_reviewer(actor), ONLY_REVIEWERS, actor=actor, action="approve templates")
    locked = _locked(template)
    _require_state(locked, APPROVE_FROM, "approved internally")
    if has_written(locked, actor):
        raise TemplateRoleError(FOUR_EYES.format(user=actor.username, template=locked.name))
    _move(locked, to=S.INTERNALLY_APPROVED, actor=actor, comment=comment, reviewer=actor)
    template.refresh_from_db()


@transaction.atomic
def template_send_back(*, template: SmsTemplate, actor: Any, comment: str) -> None:
    _require(roles.is_reviewer(actor), ONLY_REVIEWERS, actor=actor, action="send templates back")
    if not (comment or "").strip():
        raise TemplateWorkflowError(COMMENT_REQUIRED)
    locked = _locked(template)
    _require_state(locked, SEND_BACK_FROM, "sent back")
    if locked.status == S.SUBMITTED:
        _close_stuck_submission(locked, actor=actor, action="sent back")
    _move(locked, to=S.SENT_BACK, actor=actor, comment=comment.strip(), reviewer=actor)
    template.refresh_from_db()


@transaction.atomic
def template_withdraw(*, template: SmsTemplate, actor: Any, comment: str = "") -> None:
    allowed = roles.is_author(actor) or roles.is_reviewer(actor)
    _require(allowed, ONLY_AUTHORS_OR_REVIEWERS, actor=actor, action="withdraw templates")
    locked = _locked(template)
    _require_state(locked, WITHDRAW_FROM, "withdrawn")
    _move(locked, to=S.WITHDRAWN, actor=actor, comment=comment)
    template.refresh_from_db()


@transaction.atomic
def template_submit_to_provider(*, template: SmsTemplate, actor: Any, comment: str = "") -> SubmissionAttempt:
    """Check the provider's submission limits, log the attempt and start the submission job."""
    from apps.sms_templates import jobs  # jobs import services

    _require(roles.is_reviewer(actor), ONLY_REVIEWERS, actor=actor, action="submit templates to the provider")
    locked = _locked(template)
    _require_state(locked, SUBMIT_TO_PROVIDER_FROM, "submitted to the provider")
    account = ProviderAccount.objects.select_for_update().get(pk=locked.account_id)  # serialises the limit check
    if not account.is_active:
        raise TemplateWorkflowError(ACCOUNT_INACTIVE.format(account=account.name))
    limits.check_submission_allowed(account)
    attempt = SubmissionAttempt.objects.create(template=locked, account=account, requested_by=actor)
    previous = locked.provider_template_code
    if previous:  # a resubmission after a rejection: keep the old code in the history
        comment = " ".join(filter(None, [comment, f"Previous provider template code: {previous}."]))
    _move(
        locked,
        to=S.SUBMITTED,
        actor=actor,
        comment=comment,
        provider_template_code="",
        provider_status=ProviderReviewStatus.NONE,
        provider_reason="",
        last_error="",
        decided_at=None,
    )
    jobs.enqueue_submission(attempt.pk)
    template.refresh_from_db()
    return attempt


def open_attempt(template: SmsTemplate) -> SubmissionAttempt | None:
    return template.submission_attempts.filter(finished_at__isnull=True).order_by("-requested_at").first()


def submission_stuck(*, template: SmsTemplate, now=None) -> bool:
    """A submitted template nothing will move on: no open attempt, a job that never started within
    LOST_AFTER, or a worker that started and never finished within STALE_AFTER."""
    if template.status != S.SUBMITTED:
        return False
    now = now or timezone.now()
    attempt = open_attempt(template)
    if attempt is None:
        return True
    if attempt.started_at is None:
        return attempt.requested_at < now - LOST_AFTER
    return attempt.started_at < now - STALE_AFTER


def _close_stuck_submission(locked: SmsTemplate, *, actor: Any, action: str) -> SubmissionAttempt | None:
    """Close the open attempt of a stuck submission so that a late job cannot claim it any more."""
    running = TemplateWorkflowError(SUBMISSION_RUNNING.format(template=locked.name, minutes=LOST_AFTER.seconds // 60))
    if not submission_stuck(template=locked):
        raise running
    attempt = open_attempt(locked)
    if attempt is None:
        return None
    error = CLOSED_BY.format(user=actor.username, action=action)
    closed = SubmissionAttempt.objects.filter(pk=attempt.pk, started_at=attempt.started_at, finished_at__isnull=True)
    if closed.update(finished_at=timezone.now(), error=error) != 1:  # its job started meanwhile
        raise running
    return attempt


@transaction.atomic
def template_retry_submission(*, template: SmsTemplate, actor: Any, comment: str = "") -> SubmissionAttempt:
    """Submit again a template whose submission job was lost before it reached the provider."""
    _require(roles.is_reviewer(actor), ONLY_REVIEWERS, actor=actor, action="submit templates to the provider")
    locked = _locked(template)
    _require_state(locked, RETRY_SUBMISSION_FROM, "submitted again")
    attempt = open_attempt(locked)
    if attempt is not None and attempt.started_at is not None:
        raise TemplateWorkflowError(RETRY_AFTER_START.format(template=locked.name))
    _close_stuck_submission(locked, actor=actor, action="submitted again")
    _move(locked, to=S.INTERNALLY_APPROVED, actor=actor, comment=RETRIED)
    attempt = template_submit_to_provider(template=locked, actor=actor, comment=comment)
    template.refresh_from_db()
    return attempt


def submission_claim(*, attempt_id: int) -> SubmissionAttempt | None:
    """Claim an attempt for one worker (conditional update): None if it was already started, or
    closed without starting (given back by the sweep or a reviewer)."""
    pending = SubmissionAttempt.objects.filter(pk=attempt_id, started_at__isnull=True, finished_at__isnull=True)
    claimed = pending.update(started_at=timezone.now())
    if claimed != 1:
        return None
    return SubmissionAttempt.objects.select_related("template", "account").get(pk=attempt_id)


def error_in_words(error: Exception) -> str:
    if isinstance(error, ProviderError):
        return f"{ERROR_IN_WORDS[error.kind]}: {error}"
    if isinstance(error, TemplateWorkflowError):
        return error.message
    return f"Unexpected error while calling the provider: {error.__class__.__name__}: {error}"


@transaction.atomic
def template_record_submission(
    *, attempt: SubmissionAttempt, result: SubmitResult | None = None, error: Exception | None = None
) -> None:
    """The provider answered (or failed): record the code and start following its review, or put
    the template back to internally approved with the error in words so a reviewer can retry."""
    now = timezone.now()
    locked = _locked(attempt.template)
    if result is not None:
        attempt.template_code = result.template_code
    else:
        attempt.error = error_in_words(error)
    attempt.finished_at = now
    attempt.save(update_fields=["template_code", "error", "finished_at"])
    if locked.status != S.SUBMITTED:
        return
    if result is not None:
        request = f" (request {result.request_id})" if result.request_id else ""
        _move(
            locked,
            to=S.PROVIDER_REVIEW,
            comment=f"Provider template code {result.template_code}{request}.",
            provider_template_code=result.template_code,
            provider_status=ProviderReviewStatus.REVIEWING,
            submitted_at=now,
            last_error="",
            review_check_at=now + REVIEW_FOLLOW_UP[0],
            review_checks=0,
        )
    else:
        _move(
            locked,
            to=S.INTERNALLY_APPROVED,
            comment=SUBMISSION_FAILED.format(error=attempt.error),
            last_error=attempt.error,
        )
    attempt.template.refresh_from_db()


@transaction.atomic
def template_apply_review(*, template: SmsTemplate, review: TemplateReview, actor: Any = None) -> bool:
    """Apply the provider's review to a template under provider review. Idempotent: returns False
    when the template already says what the review says, or is not (any more) under provider review."""
    locked = _locked(template)
    if locked.status not in UNDER_PROVIDER or not locked.provider_template_code:
        return False
    if review.template_code and review.template_code != locked.provider_template_code:
        return False  # a review of an earlier submission of this template
    provider_status, status = REVIEW_OUTCOME[ReviewState(review.state)]
    reason = review.reason or (CANCELLED_REASON if review.state == ReviewState.CANCELLED else "")
    if (locked.provider_status, locked.provider_reason, locked.status) == (provider_status, reason, status):
        return False
    locked.provider_status = provider_status
    locked.provider_reason = reason
    if status == locked.status:
        locked.save(update_fields=["provider_status", "provider_reason", "updated_at"])
    else:
        decided = timezone.now() if status in (S.APPROVED, S.REJECTED) else None
        comment = f"Provider {ProviderReviewStatus(provider_status).label.lower()}" + (f": {reason}" if reason else ".")
        follow_up = {"review_check_at": None} if status != S.PROVIDER_REVIEW else {}
        _move(locked, to=status, actor=actor, comment=comment, decided_at=decided, **follow_up)
    template.refresh_from_db()
    return True


def template_refresh_review(*, template: SmsTemplate, actor: Any = None) -> bool:
    """Ask the provider now (no transaction held over the HTTP call). Raises ProviderError."""
    from apps.providers.clients import client_for

    if not template.provider_template_code:
        raise TemplateWorkflowError(NO_PROVIDER_CODE.format(template=template.name))
    client = client_for(template.account)
    try:
        review = client.template_status(template.provider_template_code)
    finally:
        client.close()
    return template_apply_review(template=template, review=review, actor=actor)
