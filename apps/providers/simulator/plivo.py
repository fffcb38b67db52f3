"""Plivo REST v1 as the simulator speaks it: Basic auth, JSON bodies, message send/get/list and the
conversion feedback endpoint.

Paths as documented: messages under /v1/Account/{auth_id}/Message/ (what the SDK calls), conversions
at /v1/account/{auth_id}/message/{message_uuid}/conversion/ (the Conversion Feedback page). How Plivo
answers other casings is not documented, so they are still served, not refused; but each conversion
records the path it came on and whether that is the documented one, for tests to check."""

from __future__ import annotations

import base64
import hmac
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from apps.providers.simulator.common import CLOCK_SKEW, as_int, e164, now
from apps.providers.simulator.state import Message, SimulatorState

ROUTE_RE = re.compile(r"^/v1/account/(?P<auth_id>[^/]+)/message/?(?P<uuid>[^/]*)/?(?P<tail>[^/]*)/?$", re.I)
CONVERSION_PATH_RE = re.compile(r"^/v1/account/[^/]+/message/[^/]+/conversion/$")
CONVERSION_STATUSES = ("CONVERTED", "NOT_CONVERTED", "CONVERTED_WITH_OTHERS")
STATES = {"pending": "sent", "delivered": "delivered", "failed": "undelivered"}
MAX_LIMIT = 20


def reply(status: int, body: dict):
    from apps.providers.simulator.server import Reply

    return Reply(status, {"api_id": str(uuid.uuid4()), **body})


def error(status: int, message: str):
    return reply(status, {"error": message})


def fault_reply(kind: str):
    if kind == "throttle":
        return error(429, "too many requests")
    return error(500, "internal server error")


def succeeded(r) -> bool:
    return r.status in (200, 201, 202)


def operation(request) -> str:
    match = ROUTE_RE.match(request.path)
    if not match:
        return "unknown"
    if match["tail"].lower() == "conversion":
        return "Conversion"
    if match["uuid"]:
        return "GetMessage"
    return "SendMessage" if request.method == "POST" else "ListMessages"


def _authenticated(state: SimulatorState, request, auth_id: str) -> bool:
    header = request.headers.get("Authorization") or ""
    if not header.startswith("Basic "):
        return False
    try:
        user, _, token = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    expected = state.credentials["plivo"].get(user)
    return expected is not None and user == auth_id and hmac.compare_digest(expected, token)


def handle(state: SimulatorState, request):
    match = ROUTE_RE.match(request.path)
    if not match:
        return error(404, "not found")
    if not _authenticated(state, request, match["auth_id"]):
        return error(401, "authentication credentials invalid")
    state.count_signature("plivo", "basic")
    op = operation(request)
    if op in ("Conversion", "SendMessage") and request.method != "POST":
        return error(405, "method not allowed")
    if op in ("Conversion", "SendMessage"):
        if "application/json" not in (request.headers.get("Content-Type") or ""):
            return error(400, "Content-Type must be application/json")
        try:
            payload = request.json()
        except ValueError:
            return error(400, "request body is not valid JSON")
        if not isinstance(payload, dict):
            return error(400, "request body must be a JSON object")
        if op == "Conversion":
            return conversion(state, match["uuid"], payload, path=request.path)
        return send(state, match["auth_id"], payload)
    if op == "GetMessage":
        message = state.message("plivo", match["uuid"])
        return reply(200, as_object(message, match["auth_id"])) if message else error(404, "not found")
    return list_messages(state, match["auth_id"], request.query_params())


def send(state: SimulatorState, auth_id: str, payload: dict):
    for name in ("dst", "text"):
        if not payload.get(name):
            return error(400, f"{name} is a required parameter")
    if not payload.get("src") and not payload.get("powerpack_uuid"):
        return error(400, "src or powerpack_uuid is required")
    numbers = str(payload["dst"]).split("<")
    if not all(n.lstrip("+").isdigit() for n in numbers):
        return error(400, "dst must be phone numbers in E.164 format")
    uuids = []
    for number in numbers:
        message_id = state.new_message_id("plivo")
        trackable = bool(payload.get("trackable", False))
        state.add_message(
            Message("plivo", message_id, e164(number), now(), content=payload["text"], trackable=trackable)
        )
        uuids.append(message_id)
    return reply(202, {"message": "message(s) queued", "message_uuid": uuids})


def conversion(state: SimulatorState, message_uuid: str, payload: dict, *, path: str = ""):
    status, stamp = payload.get("status"), payload.get("timestamp")
    if status not in CONVERSION_STATUSES:
        return error(400, "status must be one of CONVERTED, NOT_CONVERTED, CONVERTED_WITH_OTHERS")
    if not isinstance(stamp, str) or not stamp.endswith("Z"):
        return error(400, "timestamp must be an ISO 8601 UTC time such as 2020-08-01T11:32:26Z")
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return error(400, "timestamp must be an ISO 8601 UTC time such as 2020-08-01T11:32:26Z")
    message = state.message("plivo", message_uuid)
    if message is None:
        return error(404, "message not found")
    if not message.trackable:
        return error(400, "message is not trackable: send it with trackable=true to report conversions")
    if when <= message.sent_at or when > now() + CLOCK_SKEW:
        return error(400, "timestamp must be after the message was sent and not in the future")
    state.record_conversion("plivo", message_uuid, api="Conversion", converted=status == "CONVERTED", status=status,
                            time=when.isoformat(), path=path,
                            documented_path=bool(CONVERSION_PATH_RE.match(path)))  # fmt: skip
    body = {
        "conversion_uuid": f"conv-{message_uuid}",
        "message": "successfully recorded.",
        "message_uuid": message_uuid,
    }
    return reply(200, body)


def _plivo_time(value: datetime | None) -> str | None:
    # isoformat, not strftime: glibc's %Y writes year 1 as "1", where Plivo would write "0001".
    return value.astimezone(UTC).isoformat(sep=" ", timespec="microseconds") if value else None


def as_object(m: Message, auth_id: str) -> dict:
    failed = m.delivery == "failed"
    return {
        "error_code": (m.error_code or "30") if failed else None,
        "error_message": "undelivered" if failed else "",
        "from_number": "smsdash",
        "message_direction": "outbound",
        "message_state": STATES[m.delivery],
        "message_time": _plivo_time(m.sent_at),
        "message_sent_time": _plivo_time(m.sent_at),
        "message_updated_time": _plivo_time(m.received_at or m.sent_at),
        "message_type": "sms",
        "message_uuid": m.message_id,
        "resource_uri": f"/v1/Account/{auth_id}/Message/{m.message_id}/",
        "to_number": m.phone.lstrip("+"),
        "total_amount": "0.00500",
        "total_rate": "0.00500",
        "units": 1,
    }


def _time_param(query: dict, name: str) -> datetime | None:
    value = query.get(name)
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


def list_messages(state: SimulatorState, auth_id: str, query: dict):
    limit, offset = as_int(query.get("limit", MAX_LIMIT)), as_int(query.get("offset", 0))
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        return error(400, "limit must be between 1 and 20")
    if offset is None or offset < 0:
        return error(400, "offset must be 0 or more")
    try:
        gte, lt = _time_param(query, "message_time__gte"), _time_param(query, "message_time__lt")
    except ValueError:
        return error(400, "message_time filters must look like YYYY-MM-DD HH:MM:SS")
    if query.get("to_number"):
        candidates = state.messages_to("plivo", e164(query["to_number"]))
    else:
        with state.lock:
            candidates = [m for (p, _), m in state.messages.items() if p == "plivo"]
    rows = [
        m
        for m in candidates
        if (gte is None or m.sent_at >= gte)
        and (lt is None or m.sent_at < lt)
        and query.get("message_state", STATES[m.delivery]) == STATES[m.delivery]
    ]
    rows.sort(key=lambda m: m.sent_at, reverse=True)  # Plivo lists newest first
    page = rows[offset : offset + limit]
    more = offset + limit < len(rows)
    following = {**query, "limit": limit, "offset": offset + limit}
    meta = {
        "limit": limit,
        "offset": offset,
        "total_count": len(rows),
        "next": f"/v1/Account/{auth_id}/Message/?{urlencode(following)}" if more else None,
        "previous": None,
    }
    return reply(200, {"meta": meta, "objects": [as_object(m, auth_id) for m in page]})
