"""Keep-alive HTTP(S) connections of one provider client, on the standard library's http.client.

Why not a requests.Session: one provider call through it cost 1.34 ms of CPU against the
simulator, through http.client 0.26 ms (issue 4: reporting is bound by the workers' CPU). A client
belongs to one thread (registry.client_for), makes one call at a time and talks to one or two
hosts, so a pool, cookies, redirects and hooks buy it nothing. Kept from requests' behaviour: the
environment's proxy settings (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, read by requests.utils) and CA
bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, else certifi's), separate connect and read timeouts,
no automatic retry of a request that may have reached the provider.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import certifi
import requests.utils

from smsdash.sockets import closed_by_peer


class Unusable(ValueError):
    """The endpoint or the environment's proxy cannot be used; the message says why and holds no secret."""


class Refused(Unusable):
    """The endpoint's host is not one the credentials may be sent to (endpoints.host_refusal)."""


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: http.client.HTTPMessage  # case-insensitive .get()
    content: bytes

    def json(self):
        """The decoded body; ValueError when it is not JSON (as requests' Response.json)."""
        return json.loads(self.content)


@dataclass(frozen=True)
class _Route:
    """How to reach one origin: directly, or through a proxy (tunnelled for https)."""

    scheme: str
    host: str
    port: int
    proxy: tuple[str, int] | None = None
    proxy_authorization: str = ""


class HttpTransport:
    """One keep-alive connection per origin; not thread-safe, like the client that owns it."""

    def __init__(
        self,
        *,
        timeout: tuple[float, float],
        authorization: str = "",
        refusal: Callable[[str, str], str] | None = None,
    ):
        self.connect_timeout, self.read_timeout = timeout
        self.authorization = authorization  # sent with every request (Plivo's basic auth)
        # (scheme, host) -> why no request may go there, or "": asked before every request, since a
        # signed or basic-auth request hands the host what it needs to act as the account.
        self.refusal = refusal
        self._routes: dict[str, _Route] = {}
        self._connections: dict[str, http.client.HTTPConnection] = {}
        self._tls: ssl.SSLContext | None = None

    def request(self, method: str, url: str, *, body: bytes | None = None, headers: dict[str, str]) -> Response:
        """Send one request and read the whole answer. OSError or http.client.HTTPException when the
        provider cannot be reached or breaks off (TimeoutError for a timeout); the connection is then
        dropped, and the next request opens a new one."""
        parts = urlsplit(url)
        if self.refusal is not None and (reason := self.refusal(parts.scheme, parts.hostname or "")):
            raise Refused(reason)
        origin = f"{parts.scheme}://{parts.netloc}"
        route = self._routes.get(origin) or self._route(origin, parts)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if route.proxy and route.scheme == "http":  # a plain proxy takes the absolute URL
            target = origin + target
            if route.proxy_authorization:
                headers = {**headers, "Proxy-Authorization": route.proxy_authorization}
        if self.authorization:
            headers = {**headers, "Authorization": self.authorization}
        connection = self._connection(origin, route)
        try:
            connection.request(method, target, body=body, headers=headers)
            answer = connection.getresponse()
            return Response(answer.status, answer.headers, answer.read())
        except BaseException:
            self._drop(origin)
            raise

    def close(self) -> None:
        for origin in list(self._connections):
            self._drop(origin)

    def _connection(self, origin: str, route: _Route) -> http.client.HTTPConnection:
        connection = self._connections.get(origin)
        if connection is not None and connection.sock is not None and closed_by_peer(connection.sock):
            connection.close()  # the provider closed it while idle: open a new one rather than fail
        if connection is None:
            connection = self._new_connection(route)
            self._connections[origin] = connection
        if connection.sock is None:
            connection.timeout = self.connect_timeout
            connection.connect()
            connection.sock.settimeout(self.read_timeout)
        return connection

    def _new_connection(self, route: _Route) -> http.client.HTTPConnection:
        host, port = route.proxy or (route.host, route.port)
        if route.scheme == "https":
            connection = http.client.HTTPSConnection(host, port, context=self._tls_context())
            if route.proxy:
                tunnel = {"Proxy-Authorization": route.proxy_authorization} if route.proxy_authorization else None
                connection.set_tunnel(route.host, route.port, headers=tunnel)
            return connection
        return http.client.HTTPConnection(host, port)

    def _route(self, origin: str, parts) -> _Route:
        scheme = parts.scheme
        if scheme not in ("http", "https"):
            raise Unusable(f"the endpoint must start with http:// or https://, not {parts.scheme or 'nothing'}")
        port = parts.port or (443 if scheme == "https" else 80)
        proxies = requests.utils.get_environ_proxies(origin)  # NO_PROXY applied
        proxy_url = proxies.get(scheme) or proxies.get("all")
        route = _Route(scheme, parts.hostname or "", port)
        if proxy_url:
            proxy = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
            if proxy.scheme != "http":
                raise Unusable(f"the proxy set in the environment must be http://, not {proxy.scheme}://")
            authorization = ""
            if proxy.username:
                authorization = basic_authorization(unquote(proxy.username), unquote(proxy.password or ""))
            route = _Route(scheme, route.host, port, (proxy.hostname or "", proxy.port or 80), authorization)
        self._routes[origin] = route
        return route

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
            if os.path.isdir(bundle):
                self._tls = ssl.create_default_context(capath=bundle)
            else:
                self._tls = ssl.create_default_context(cafile=bundle)
        return self._tls

    def _drop(self, origin: str) -> None:
        connection = self._connections.pop(origin, None)
        if connection is not None:
            connection.close()


def basic_authorization(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
