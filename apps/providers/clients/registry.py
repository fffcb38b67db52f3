"""Provider slug -> client class, and `client_for(account)`, the one way callers get a client."""

from __future__ import annotations

import threading

from apps.providers.clients.aliyun import AliyunClient
from apps.providers.clients.base import ProviderClient
from apps.providers.clients.plivo import PlivoClient
from apps.providers.clients.tencent import TencentClient

CLIENTS: dict[str, type[ProviderClient]] = {
    AliyunClient.provider: AliyunClient,
    TencentClient.provider: TencentClient,
    PlivoClient.provider: PlivoClient,
}

# One client (so one set of keep-alive connections) per account per thread: they are not thread-safe,
# and a changed account (new secret, endpoint) has a new updated_at, so it gets a fresh client.
_local = threading.local()


def client_for(account, **options) -> ProviderClient:
    if account.pk is None or options:
        return CLIENTS[account.provider](account, **options)
    cache: dict = getattr(_local, "clients", None) or {}
    _local.clients = cache
    key = (account.pk, account.updated_at, account.endpoint)
    client = cache.get(account.pk)
    if client is None or client.cache_key != key:
        if client is not None:
            client.close()
        client = CLIENTS[account.provider](account)
        client.cache_key = key
        cache[account.pk] = client
    return client
