"""One threaded HTTP server for the three providers and the control surface, told apart as the real
APIs are: Plivo by its /v1/Account/ path, Tencent by its TC3 Authorization / X-TC-Action header,
Alibaba by everything else on "/" (ACS3 header or RPC query parameters); /_simulator/ is control."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message as Headers
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from apps.providers.simulator import aliyun, control, plivo, tencent
from apps.providers.simulator.state import SimulatorState

logger = logging.getLogger(__name__)
PROVIDER_MODULES = {"aliyun": aliyun, "tencent": tencent, "plivo": plivo}
OUTAGE_PAGE = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"


@dataclass
class Request:
    method: str
    path: str
    query: str  # raw query string, as received
    headers: Headers
    body: bytes = b""

    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def form_params(self) -> dict[str, str]:
        if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return {}

    def json(self):
        return json.loads(self.body.decode("utf-8") or "null")


@dataclass
class Reply:
    status: int
    body: dict | list | str
    headers: dict = field(default_factory=dict)


def provider_of(request: Request) -> str | None:
    if request.path.lower().startswith("/v1/account/"):
        return "plivo"
    if request.headers.get("X-TC-Action") or (request.headers.get("Authorization") or "").startswith("TC3-"):
        return "tencent"
    if request.path == "/":
        return "aliyun"
    return None


def dispatch(state: SimulatorState, request: Request) -> Reply:
    if request.path.startswith("/_simulator/"):
        return control.handle(state, request)
    provider = provider_of(request)
    if provider is None:
        return Reply(404, {"error": f"Nothing is simulated at {request.path}"})
    module = PROVIDER_MODULES[provider]
    operation = module.operation(request)
    state.count(provider, operation)
    faults = state.faults[provider]
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if faults.outage:
        return Reply(503, OUTAGE_PAGE, {"Content-Type": "text/html"})
    if faults.throttle:
        return module.fault_reply("throttle")
    if faults.error_rate and state.rng.random() < faults.error_rate:
        return module.fault_reply("error")
    reply = module.handle(state, request)
    state.count(provider, operation, ok=module.succeeded(reply))
    return reply


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' connections expect
    server_version = "smsdash-simulator/1.0"
    state: SimulatorState  # set on the subclass the server builds

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms a reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, parts.path or "/", parts.query, self.headers, body)
        self.state.track(+1)
        try:
            reply = dispatch(self.state, request)
        except Exception:  # a bug in the simulator must show as a 500, like a real provider's
            logger.exception("simulator failed on %s %s", self.command, parts.path)
            reply = Reply(500, {"error": "simulator internal error"})
        finally:
            self.state.track(-1)
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        if isinstance(reply.body, str):
            payload, content_type = reply.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(reply.body, ensure_ascii=False).encode(), "application/json"
        try:
            self.send_response(reply.status)
            headers = {"Content-Type": content_type, **reply.headers, "Content-Length": str(len(payload))}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format, *args) -> None:
        logger.debug("simulator: " + format, *args)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 refuses connections under a benchmark's burst


class SimulatorServer:
    """The simulator on host:port (0 = a free port), served from a background thread."""

    def __init__(self, state: SimulatorState | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.state = state or SimulatorState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = Server((host, port), handler)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimulatorServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="provider-simulator", daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
