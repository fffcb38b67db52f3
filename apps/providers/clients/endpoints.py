"""Where an account's credentials may go: over https to a host of that account's provider, nothing else.

Each client lists its provider's hosts (ProviderClient.endpoint_hosts) beside its other facts, with
the documentation they come from. The list is exact host names, never a pattern: a pattern such as
dysmsapi.<anything>.aliyuncs.com would also match names other customers of the same cloud can own
(an object-storage bucket called "dysmsapi" is dysmsapi.oss-cn-hangzhou.aliyuncs.com).

A deployment that runs the provider simulator on this machine (the demo, the test suite) sets
PROVIDER_ALLOW_LOCAL_ENDPOINTS, which admits loopback addresses as well, over http or https. Any
other host stays refused, so an endpoint override can neither carry the keys elsewhere nor make the
server call internal hosts. The admin form checks this (ProviderAccount.clean) and so does the
connection before each request (HttpTransport), for rows stored before the rule.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings

NOT_HTTPS = "The endpoint must start with https:// (got {scheme})."
NOT_PROVIDER_HOST = "{host} is not a {provider} host: the endpoint must be one of {hosts}."
LOCAL_REFUSED = (
    "{host} is a local address: local endpoints (the provider simulator) are allowed only where the "
    "deployment sets PROVIDER_ALLOW_LOCAL_ENDPOINTS."
)
UNREADABLE = "The endpoint is not a readable URL."
LOCAL_NAMES = {"localhost"}


@functools.lru_cache(maxsize=256)  # asked before every request: 8.4 µs a check uncached, 1.5 µs cached
def is_loopback(host: str) -> bool:
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_refusal(scheme: str, host: str, *, provider: str, hosts: Iterable[str]) -> str:
    """Why credentials must not be sent to scheme://host; empty when they may.

    `host` is urlsplit()'s hostname (lowercased, no port, no user part), the very name connected to.
    """
    if scheme == "https" and host in hosts:
        return ""
    if is_loopback(host):
        if settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS and scheme in ("http", "https"):
            return ""
        return LOCAL_REFUSED.format(host=host)
    if scheme != "https":
        return NOT_HTTPS.format(scheme=f"{scheme}://" if scheme else "no scheme")
    return NOT_PROVIDER_HOST.format(host=host or "(no host)", provider=provider, hosts=", ".join(sorted(hosts)))


def url_refusal(url: str, *, provider: str, hosts: Iterable[str]) -> str:
    """Why credentials must not be sent to this URL; empty when they may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # an unbalanced [ in the host
        return UNREADABLE
    return host_refusal(parts.scheme, host, provider=provider, hosts=hosts)
