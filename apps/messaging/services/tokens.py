"""API tokens: created (shown once), checked on every request, revoked."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from apps.messaging.models import ApiToken
from apps.providers.models import ProviderAccount

ALREADY_REVOKED = "This token was already revoked."
# last_used_at is for humans ("is this token still used?"): minute precision spares a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


# Each web process remembers a checked token for a few seconds: the lookup was a third of an ingest
# request. A revocation is immediate in the process that made it, within CACHE_SECONDS elsewhere.
CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, ApiToken]] = {}


def _cached(digest: str) -> ApiToken | None:
    entry = _cache.get(digest)
    if entry is None or entry[0] < time.monotonic():
        _cache.pop(digest, None)
        return None
    return entry[1]


@receiver(post_save, sender=ProviderAccount)
def _forget_account_tokens(sender, instance: ProviderAccount, **kwargs) -> None:
    # An account set inactive stops its tokens at once in this process (within CACHE_SECONDS in
    # others): the cached token carries the account as it was when cached.
    for digest, (_, token) in list(_cache.items()):
        if token.account_id == instance.pk:
            _cache.pop(digest, None)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, account: ProviderAccount, name: str) -> tuple[ApiToken, str]:
    """Returns the stored token and the raw token, which exists nowhere else: show it once."""
    raw = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(account=account, name=name, token_hash=token_digest(raw), hint=raw[:10])
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is not None:
        raise ValueError(ALREADY_REVOKED)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _cache.pop(token.token_hash, None)
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The active token for this raw value, with its account loaded; None when unknown or revoked.
    The caller refuses a token whose account is inactive (with its own message)."""
    if not raw.startswith(ApiToken.PREFIX):
        return None
    digest = token_digest(raw)
    token = _cached(digest)
    if token is None:
        try:  # get(), not first(): first() would add an ORDER BY joined to the account
            token = ApiToken.objects.select_related("account").get(token_hash=digest, revoked_at__isnull=True)
        except ApiToken.DoesNotExist:
            return None
        _cache[digest] = (time.monotonic() + CACHE_SECONDS, token)
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
