"""HTTP plumbing shared by the clients: timeouts and network failures become transient ProviderErrors."""

from __future__ import annotations

import http.client
import json as jsonlib
from urllib.parse import urlencode, urlsplit

from apps.providers.clients.base import ErrorKind, ProviderClient, ProviderError
from apps.providers.clients.connection import Refused, Response, Unusable

USER_AGENT = "smsdash/0.1"


def send(
    client: ProviderClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    data: bytes | None = None,
    json: dict | None = None,
    params: dict | None = None,
) -> Response:
    """One request on the client's connection; a network failure becomes a transient ProviderError."""
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    if json is not None:
        data = jsonlib.dumps(json, separators=(",", ":")).encode()
        headers = {**headers, "Content-Type": "application/json"}
    try:
        return client.http.request(method, url, body=data, headers=headers)
    except Refused as exc:
        raise ProviderError(
            ErrorKind.INVALID, f"{client.provider} was not called: {exc}", code="EndpointRefused",
            provider=client.provider,
        ) from exc  # fmt: skip
    except Unusable as exc:
        raise ProviderError(
            ErrorKind.INVALID, f"{client.provider} cannot be called: {exc}", code="Unusable", provider=client.provider
        ) from exc
    except TimeoutError as exc:
        raise ProviderError(
            ErrorKind.TRANSIENT,
            f"{client.provider} did not answer in time (connect {client.timeout[0]}s, read {client.timeout[1]}s)",
            code="Timeout",
            provider=client.provider,
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ProviderError(
            ErrorKind.TRANSIENT,
            f"{client.provider} could not be reached: {type(exc).__name__}",
            code="ConnectionError",
            provider=client.provider,
        ) from exc
    except ValueError as exc:
        # http.client refusing a header or URL; its message may quote a credential, so it is left out.
        # After OSError: a certificate error is both, and stays a transient connection error.
        raise ProviderError(
            ErrorKind.INVALID, f"{client.provider}: the request is malformed ({type(exc).__name__})",
            code="Malformed", provider=client.provider,
        ) from exc  # fmt: skip


def kind_for_status(status: int) -> ErrorKind:
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 429:
        return ErrorKind.THROTTLED
    if status >= 500 or status in (408, 502, 503, 504):
        return ErrorKind.TRANSIENT
    return ErrorKind.INVALID


def json_body(client: ProviderClient, response: Response) -> dict:
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
    """The Host header http.client sends for this URL (default ports omitted)."""
    parsed = urlsplit(url)
    host = parsed.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parsed.scheme)
    return host if parsed.port in (None, default) else f"{host}:{parsed.port}"
