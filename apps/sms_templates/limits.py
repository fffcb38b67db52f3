"""The providers' limits on template submissions (PROVIDERS.md: Alibaba AddSmsTemplate and
CreateSmsTemplate allow 100 template requests a day per account and at least 30 s between two).

The day is counted as the last 24 hours rather than a calendar day: it never lets more than 100
through in any calendar day, whatever time zone the provider counts in, and it tells the user an
exact time when the next submission becomes possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from apps.providers.models import Provider, ProviderAccount


@dataclass(frozen=True)
class SubmissionLimit:
    per_day: int
    min_interval: timedelta


LIMITS = {
    Provider.ALIYUN: SubmissionLimit(per_day=100, min_interval=timedelta(seconds=30)),
}

DAILY_LIMIT = (
    "{account} has made {n} template submissions in the last 24 hours, {provider}'s limit; "
    "the next submission is possible at {at}."
)
INTERVAL_LIMIT = (
    "{provider} requires at least {seconds} s between two template submissions from {account}; "
    "the next submission is possible at {at}."
)
DAY = timedelta(days=1)


def format_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def next_submission_at(account: ProviderAccount, *, now: datetime | None = None) -> tuple[datetime | None, str]:
    """When the account may submit next (None: now) and the message explaining why not before."""
    from apps.sms_templates.models import SubmissionAttempt

    limit = LIMITS.get(account.provider)
    if limit is None:
        return None, ""
    now = now or timezone.now()
    recent = list(
        SubmissionAttempt.objects.filter(account=account, requested_at__gt=now - DAY)
        .exclude(started_at__isnull=True, finished_at__isnull=False)  # closed before any call to the provider
        .order_by("-requested_at")
        .values_list("requested_at", flat=True)[: limit.per_day]
    )
    provider = Provider(account.provider).label
    if len(recent) >= limit.per_day:
        at = recent[-1] + DAY
        return at, DAILY_LIMIT.format(account=account.name, n=len(recent), provider=provider, at=format_time(at))
    if recent and recent[0] + limit.min_interval > now:
        at = recent[0] + limit.min_interval
        seconds = int(limit.min_interval.total_seconds())
        return at, INTERVAL_LIMIT.format(provider=provider, seconds=seconds, account=account.name, at=format_time(at))
    return None, ""


def check_submission_allowed(account: ProviderAccount) -> None:
    from apps.sms_templates.services import SubmissionLimitError

    at, message = next_submission_at(account)
    if at is not None:
        raise SubmissionLimitError(message, next_at=at)
