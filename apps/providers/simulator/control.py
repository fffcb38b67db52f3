"""The simulator's own control surface, plain HTTP JSON under /_simulator/ (documented in the README).

GET  /_simulator/stats     counts of requests per provider and operation, conversions per message id
POST /_simulator/faults    {"provider": "tencent", "error_rate": 0.3, "latency_ms": 200, "throttle": false,
                            "outage": false}; without "provider" for all three; {} clears every fault
POST /_simulator/review    {"outcome": "auto"|"approved"|"rejected", "reason": "...", "delay_seconds": 5}
POST /_simulator/messages  {"messages": [{"provider", "message_id", "phone", "sent_at", "delivery", ...}]}
POST /_simulator/reload    load new messages from the database (the demo's SentMessage rows)
POST /_simulator/reset     forget messages, templates, faults and counters
"""

from __future__ import annotations

from datetime import datetime

from apps.providers.simulator.state import PROVIDERS, Message, SimulatorState

FAULT_KEYS = {"provider", "error_rate", "latency_ms", "throttle", "outage"}
REVIEW_OUTCOMES = ("auto", "approved", "rejected")
MESSAGE_KEYS = {"provider", "message_id", "phone", "sent_at", "delivery", "error_code", "received_at"}
MESSAGE_KEYS |= {"template_code", "content", "out_id", "app_id", "trackable"}


def _reply(status: int, body: dict):
    from apps.providers.simulator.server import Reply

    return Reply(status, body)


def _bad(message: str):
    return _reply(400, {"error": message})


def handle(state: SimulatorState, request):
    route = (request.method, request.path.rstrip("/"))
    if route == ("GET", "/_simulator/stats"):
        return _reply(200, state.stats())
    if request.method != "POST":
        return _reply(404, {"error": f"No control endpoint {request.method} {request.path}"})
    try:
        body = request.json() if request.body else {}
    except ValueError:
        return _bad("The body must be JSON.")
    if not isinstance(body, dict):
        return _bad("The body must be a JSON object.")
    handler = ROUTES.get(request.path.rstrip("/"))
    if handler is None:
        return _reply(404, {"error": f"No control endpoint POST {request.path}"})
    return handler(state, body)


def faults(state: SimulatorState, body: dict):
    unknown = set(body) - FAULT_KEYS
    if unknown:
        return _bad(
            f"Unknown fault setting(s): {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(FAULT_KEYS))}."
        )
    if body.get("provider") and body["provider"] not in PROVIDERS:
        return _bad(f"provider must be one of {', '.join(PROVIDERS)}.")
    try:
        rate, latency = float(body.get("error_rate", 0)), int(body.get("latency_ms", 0))
    except (TypeError, ValueError):
        return _bad("error_rate must be a number and latency_ms an integer.")
    if not 0 <= rate <= 1 or latency < 0:
        return _bad("error_rate must be between 0 and 1, latency_ms 0 or more.")
    state.set_faults(body)
    return _reply(200, {"faults": state.stats()["faults"]})


def review(state: SimulatorState, body: dict):
    outcome = body.get("outcome", "auto")
    if outcome not in REVIEW_OUTCOMES:
        return _bad(f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}.")
    try:
        delay = float(body.get("delay_seconds", state.review["delay"]))
    except (TypeError, ValueError):
        return _bad("delay_seconds must be a number.")
    with state.lock:
        state.review = {"outcome": outcome, "reason": str(body.get("reason", "")), "delay": max(delay, 0.0)}
    return _reply(200, {"review": state.review})


def messages(state: SimulatorState, body: dict):
    rows = body.get("messages")
    if not isinstance(rows, list):
        return _bad('Send {"messages": [...]}.')
    added = []
    for index, row in enumerate(rows):
        try:
            fields = {k: v for k, v in row.items() if k in MESSAGE_KEYS}
            for name in ("sent_at", "received_at"):
                if fields.get(name):
                    fields[name] = datetime.fromisoformat(fields[name])
            if fields.get("provider") not in PROVIDERS:
                raise ValueError("provider")
            added.append(Message(**fields))
        except (TypeError, ValueError, AttributeError) as exc:
            return _bad(f"messages[{index}] is not a valid message ({exc}).")
    for message in added:
        state.add_message(message)
    return _reply(200, {"added": len(added)})


def reload(state: SimulatorState, body: dict):
    if state.loader is None:
        return _bad("This simulator was started without a database loader.")
    return _reply(200, {"loaded": state.loader.refresh(force=True)})


def reset(state: SimulatorState, body: dict):
    state.reset()
    return _reply(200, {"reset": True})


ROUTES = {
    "/_simulator/faults": faults,
    "/_simulator/review": review,
    "/_simulator/messages": messages,
    "/_simulator/reload": reload,
    "/_simulator/reset": reset,
}
