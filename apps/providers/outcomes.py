"""Hand the ending of one provider call to the account's circuit breaker and rate limit at once.

    outcome = outcomes.record(breaker, account, "report", error)   # error None: the provider answered

Every caller of a provider (reporting, the sync engine) goes through here, so they all mean the
same by an outcome: breaker.outcome_of decides it, the breaker records it, and a throttled answer
pauses the rate limit's key (ratelimit.back_off) instead of counting against the provider.
"""

from __future__ import annotations

from apps.providers import ratelimit
from apps.providers.breaker import CircuitBreaker, Outcome
from apps.providers.models import ProviderAccount


def record(
    breaker: CircuitBreaker,
    account: ProviderAccount,
    key: str,
    error: BaseException | None,
    *,
    pause: float | None = None,
) -> Outcome:
    """Record the call's ending; when throttled, pause `key` for `pause` seconds (by default
    ratelimit.THROTTLE_PAUSE_SECONDS)."""
    outcome = breaker.record_call(error)
    if outcome == Outcome.THROTTLED:
        ratelimit.back_off(account, key, ratelimit.THROTTLE_PAUSE_SECONDS if pause is None else pause)
    return outcome
