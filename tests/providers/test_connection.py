"""The clients' own HTTP transport (clients/connection.py) over real sockets: TLS verified against the
configured CA bundle, http:// and https:// proxies with credentials, keep-alive reuse, and a
connection the provider closed while idle."""

from __future__ import annotations

import base64
import http.client
import select
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from apps.providers.clients.base import ErrorKind, ProviderError
from apps.providers.clients.tencent import TencentClient
from apps.providers.simulator.server import SimulatorServer
from bench.processes import free_port

ANSWERED = "FailedOperation.TemplateIdNotExist"  # what the simulator says of template 1: it was reached


def outcome(client: TencentClient) -> str:
    try:
        client.template_status("1")
    except ProviderError as error:
        return error.code
    return "no error"


@pytest.fixture
def no_proxy_settings(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem), made by Debian's openssl."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", folder / "key.pem", "-out", folder / "cert.pem"],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_simulator(certificate):
    """A second simulator, serving https:// with the certificate above."""
    server = SimulatorServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.start()
    yield server
    server.stop()


class Proxy(ThreadingHTTPServer):
    """A forward proxy: plain requests by absolute URL, https by CONNECT tunnel. Remembers what it saw."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.seen: list[tuple[str, str, str]] = []  # (method, target, Proxy-Authorization)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _record(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Proxy-Authorization", "")))

    def do_CONNECT(self) -> None:
        self._record()
        host, port = self.path.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        self.send_response(200, "Connection established")
        self.end_headers()
        sockets = [self.connection, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 5)
            if not readable:
                break
            chunks = [(s, s.recv(65536)) for s in readable]
            if any(not data for _, data in chunks):
                break
            for source, data in chunks:
                (upstream if source is self.connection else self.connection).sendall(data)
        upstream.close()
        self.close_connection = True

    def _forward(self) -> None:
        self._record()
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-authorization"}
        upstream = http.client.HTTPConnection(target.hostname, target.port)
        upstream.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers)
        answer = upstream.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding"):
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        upstream.close()

    do_GET = do_POST = _forward

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def proxy():
    server = Proxy()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_https_is_verified_against_the_configured_ca_bundle(
    tls_simulator, certificate, simulated_account, monkeypatch, no_proxy_settings
):
    account = simulated_account("tencent", endpoint=tls_simulator.url.replace("http://", "https://"))
    with pytest.raises(ProviderError) as refused:  # certifi's bundle does not know our certificate
        TencentClient(account).template_status("1")
    assert refused.value.kind == ErrorKind.TRANSIENT and "SSLCertVerificationError" in refused.value.message

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    assert outcome(TencentClient(account)) == ANSWERED


def test_http_goes_through_the_proxy_with_its_credentials(
    simulator, simulated_account, proxy, monkeypatch, no_proxy_settings
):
    account = simulated_account("tencent")
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://ops:p%40ss@"))
    assert outcome(TencentClient(account)) == ANSWERED
    credentials = "Basic " + base64.b64encode(b"ops:p@ss").decode()
    assert proxy.seen == [("POST", f"{simulator.url}/", credentials)] * 2  # the two template lists


def test_https_is_tunnelled_through_the_proxy_and_the_tunnel_kept_alive(
    tls_simulator, certificate, simulated_account, proxy, monkeypatch, no_proxy_settings
):
    account = simulated_account("tencent", endpoint=tls_simulator.url.replace("http://", "https://"))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    client = TencentClient(account)
    assert [outcome(client), outcome(client), outcome(client)] == [ANSWERED] * 3
    host = urlsplit(tls_simulator.url).netloc
    assert proxy.seen == [("CONNECT", host, "")]  # one tunnel for the three calls


def test_no_proxy_sends_a_host_past_the_proxy(simulated_account, monkeypatch, no_proxy_settings):
    account = simulated_account("tencent")  # a fresh client reads the environment when it is made
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # a proxy that is not there
    assert outcome(TencentClient(account)) == "ConnectionError"  # went to the proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert outcome(TencentClient(account)) != "ConnectionError"  # straight to the simulator, which answered


def test_a_proxy_scheme_that_cannot_be_used_is_named(simulated_account, monkeypatch, no_proxy_settings):
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ProviderError) as refused:
        TencentClient(simulated_account("tencent")).template_status("1")
    assert refused.value.kind == ErrorKind.INVALID and "socks5://" in refused.value.message


def test_a_header_http_client_refuses_is_reported_without_its_value(simulated_account, no_proxy_settings):
    account = simulated_account("tencent", key_id="AKIDsecretish\r\nX-Injected: 1")
    with pytest.raises(ProviderError) as refused:
        TencentClient(account).template_status("1")
    assert refused.value.kind == ErrorKind.INVALID and refused.value.code == "Malformed"
    assert "AKID" not in str(refused.value)


def test_a_connection_the_provider_closed_while_idle_is_reopened(simulated_account, no_proxy_settings):
    server, accepted = SimulatorServer(), []
    accept = server.httpd.get_request
    server.httpd.get_request = lambda: (lambda pair: accepted.append(pair[0]) or pair)(accept())
    server.start()
    try:
        client = TencentClient(simulated_account("tencent", endpoint=server.url))
        assert [outcome(client), outcome(client)] == [ANSWERED] * 2
        assert len(accepted) == 1  # kept alive
        accepted[0].shutdown(socket.SHUT_RDWR)  # the provider's idle timeout
        time.sleep(0.1)
        assert outcome(client) == ANSWERED
        assert len(accepted) == 2
    finally:
        server.stop()
