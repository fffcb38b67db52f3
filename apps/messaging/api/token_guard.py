"""Invalid API tokens counted per client address: past a limit, that address gets 429 for a while.

The counters live in Django's cache: Redis when REDIS_URL is set, so every web process and machine
shares them (a per-process count would multiply the limit by the number of gunicorn workers);
local memory otherwise (one process: `runserver`, the demo). A valid token is never counted and
never refused here: a stale token left on a host that also runs the real sender must not cut
that sender's login path. Guessing is defeated by the tokens' 256 random bits; this limit makes a
scanner (or a client stuck on a revoked token) back off and shows up as 429s in the logs.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest

logger = logging.getLogger(__name__)

_COUNT_KEY = "api-bad-token:count:{address}"
_BLOCK_KEY = "api-bad-token:block:{address}"


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a header naming the client could be forged to dodge the limit.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _cache():
    return caches[settings.API_BAD_TOKEN_CACHE]


def blocked_for(address: str) -> int:
    """Seconds left before this address may try tokens again; 0 when it is not blocked."""
    until = _cache().get(_BLOCK_KEY.format(address=address))
    if until is None:
        return 0
    return max(1, int(until - time.time() + 0.999))


def bad_token_seen(address: str) -> None:
    """Counts one invalid token from this address; the LIMITth within a window blocks the address."""
    cache = _cache()
    key = _COUNT_KEY.format(address=address)
    # add() starts a window only if none is open; incr() is atomic on Redis.
    cache.add(key, 0, timeout=settings.API_BAD_TOKEN_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # the window closed between add() and incr(): this is the first of a new one
        cache.add(key, 1, timeout=settings.API_BAD_TOKEN_WINDOW_SECONDS)
        count = 1
    if count < settings.API_BAD_TOKEN_LIMIT:
        return
    seconds = settings.API_BAD_TOKEN_BLOCK_SECONDS
    cache.set(_BLOCK_KEY.format(address=address), time.time() + seconds, timeout=seconds)
    cache.delete(key)
    logger.warning("API: %s invalid tokens from %s, refused with 429 for %s s", count, address, seconds)
