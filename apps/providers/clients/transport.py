"""HTTP plumbing shared by the clients: timeouts and network failures become transient ProviderErrors."""

from __future__ import annotations

from typing import Any

import requests

from apps.providers.clients.base import ErrorKind, ProviderClient, ProviderError

USER_AGENT = "smsdash/0.1 (+python-requests)"


def send(client: ProviderClient, method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        return client.session.request(method, url, timeout=client.timeout, **kwargs)
    except requests.Timeout as exc:
        raise ProviderError(
            ErrorKind.TRANSIENT,
            f"{client.provider} did not answer in time (connect {client.timeout[0]}s, read {client.timeout[1]}s)",
            code="Timeout",
            provider=client.provider,
        ) from exc
    except requests.RequestException as exc:
        raise ProviderError(
            ErrorKind.TRANSIENT,
            f"{client.provider} could not be reached: {type(exc).__name__}",
            code="ConnectionError",
            provider=client.provider,
        ) from exc


def kind_for_status(status: int) -> ErrorKind:
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 429:
        return ErrorKind.THROTTLED
    if status >= 500 or status in (408, 502, 503, 504):
        return ErrorKind.TRANSIENT
    return ErrorKind.INVALID


def json_body(client: ProviderClient, response: requests.Response) -> dict:
    """The JSON object of a response; an HTML error page or garbage becomes a ProviderError."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    status = response.status_code
    kind = kind_for_status(status) if status >= 400 else ErrorKind.TRANSIENT
    raise ProviderError(
        kind,
        f"{client.provider} answered HTTP {status} without a JSON body",
        code=f"HTTP{status}",
        request_id=response.headers.get("x-acs-request-id", ""),
        provider=client.provider,
    )


def host_of(url: str) -> str:
    """The Host header requests will send for this URL (default ports omitted)."""
    parsed = requests.utils.urlparse(url)
    host = parsed.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parsed.scheme)
    return host if parsed.port in (None, default) else f"{host}:{parsed.port}"
