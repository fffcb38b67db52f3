"""The OpenAPI 3.1 description of the ingest API, served at /api/v1/openapi.json.

Request fields come from the tables the parser reads with (parsing.MESSAGE, parsing.CONVERSION,
stats.PARAMS); responses are described as the views build them, and the fuzz test holds every
answer to them.
"""

from __future__ import annotations

from apps.messaging.api import parsing, stats
from apps.messaging.api.fields import object_schema
from apps.messaging.services.inputs import Outcome

_RULES = {"type": "object", "additionalProperties": {"type": "string"}, "description": "field -> rule"}
ERROR = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error", "errors"],
    "properties": {"error": {"type": "string"}, "errors": _RULES},
}
SINGLE_RESULT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["result", "id"],
    "properties": {
        "result": {"type": "string", "enum": [Outcome.CREATED, Outcome.DUPLICATE]},
        "id": {"type": "integer"},
    },
}
ITEM_RESULT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["index", "result"],
    "properties": {
        "index": {"type": "integer", "minimum": 0},
        "result": {"type": "string", "enum": [Outcome.CREATED, Outcome.DUPLICATE, Outcome.ERROR]},
        "id": {"type": "integer", "description": "created or duplicate: the stored row"},
        "errors": {**_RULES, "description": "error: field -> rule"},
    },
}
_COUNT = {"type": "integer", "minimum": 0}
BATCH_RESULT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["created", "duplicates", "errors", "items"],
    "properties": {
        "created": _COUNT,
        "duplicates": _COUNT,
        "errors": {**_COUNT, "description": "how many items were refused"},
        "items": {"type": "array", "items": ITEM_RESULT},
    },
}
BATCH_REFUSED = {
    **BATCH_RESULT,
    "required": [*BATCH_RESULT["required"], "error"],
    "properties": {**BATCH_RESULT["properties"], "error": {"type": "string"}},
}
ACCOUNT = {"type": ["integer", "string", "null"], "description": "Optional: your account's id or name"}
FIGURES = {
    "requested": _COUNT,
    "verified": _COUNT,
    "conversion_rate": {"type": ["number", "null"], "description": "verified / requested; null when none"},
}
GROUP_VALUES = {
    "provider": {"type": "string"},
    "account": {"type": "integer"},
    "template": {"type": "string"},
    "country": {"type": "string"},
}
STATS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["start", "end", "account", "totals", "groups"],
    "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "account": {"type": "integer"},
        "totals": {"type": "object", "additionalProperties": False, "required": list(FIGURES), "properties": FIGURES},
        "groups": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": False, "properties": {**GROUP_VALUES, **FIGURES}},
        },
    },
}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _error(description: str, **headers: str) -> dict:
    answer = {"description": description, **_json(ERROR)}
    if headers:
        answer["headers"] = {
            name: {"schema": {"type": "string"}, "description": text} for name, text in headers.items()
        }
    return answer


_AUTH = {"WWW-Authenticate": "Bearer challenge"}
_COMMON = {
    "401": _error("No valid token, or its account is inactive", **_AUTH),
    "405": _error("Another method", Allow="The allowed method"),
    "429": _error("Too many invalid tokens from this address: retry later", **{"Retry-After": "Seconds"}),
    "500": _error("An unexpected error (logged with its traceback)"),
    "503": _error("The database is unreachable: retry later", **{"Retry-After": "Seconds"}),
}


def _ingest(name: str, item: dict, single: dict, summary: str) -> dict:
    batch = {
        "type": "object",
        "additionalProperties": False,
        "required": ["items"],
        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": item}, "account": ACCOUNT},
    }
    return {
        "post": {
            "summary": summary,
            "operationId": f"record_{name}",
            "requestBody": {"required": True, **_json({"oneOf": [single, batch]})},
            "responses": {
                "201": {"description": "Created (single item)", **_json(SINGLE_RESULT)},
                "200": {
                    "description": "Duplicate (single item), or a batch's result item by item",
                    **_json({"oneOf": [SINGLE_RESULT, BATCH_RESULT]}),
                },
                "400": _error("Invalid JSON, empty body, or not an object"),
                "403": _error("The body names another account"),
                "413": _error("Body or batch too large"),
                "415": _error("Content-Type is not application/json"),
                "422": {
                    "description": "The item was refused (field -> rule), or every batch item was",
                    **_json({"oneOf": [ERROR, BATCH_REFUSED]}),
                },
                **_COMMON,
            },
        }
    }


def _stats() -> dict:
    # A string with a pattern, not an array with explode=false: a comma-joined array item
    # ("provider,template") and two items serialise alike, so an array schema cannot say which the
    # parser refuses (a schemathesis run found the ambiguity).
    one = "|".join(stats.GROUPS)
    group_by = {
        "name": "group_by",
        "in": "query",
        "schema": {"type": "string", "pattern": f"^(({one})(,({one}))*)?$"},
        "description": "Comma-separated: provider, account, template, country",
    }
    params = [
        {"name": f.name, "in": "query", "required": False, "schema": f.schema(), "description": f.description}
        for f in stats.PARAMS
    ]
    return {
        "get": {
            "summary": "Requested, verified and conversion rate (verified / requested) for a period",
            "operationId": "conversion_stats",
            "parameters": [*params, group_by],
            "responses": {
                "200": {"description": "Totals and groups", **_json(STATS)},
                "400": _error("Invalid query: parameter -> rule"),
                "403": _error("Another account"),
                **_COMMON,
            },
        }
    }


def schema(server_url: str) -> dict:
    messages = object_schema(parsing.MESSAGE, account=ACCOUNT)
    conversions = object_schema(parsing.CONVERSION, account=ACCOUNT)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsdash ingest API",
            "version": "1",
            "description": "Record sent OTP messages and their conversions; smsdash reports each conversion "
            "to its provider in the background. Authenticate with 'Authorization: Bearer <token>' (admin → "
            "API tokens). Repeating a request is safe: it is answered as a duplicate. Text fields refuse "
            "control characters and unpaired surrogates.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/messages": _ingest(
                "messages", object_schema(parsing.MESSAGE), messages, "Record one sent message, or up to 1,000"
            ),
            "/conversions": _ingest(
                "conversions",
                _one_reference(object_schema(parsing.CONVERSION)),
                _one_reference(conversions),
                "Record one conversion, or up to 1,000",
            ),
            "/stats": _stats(),
        },
    }


def _one_reference(item: dict) -> dict:
    """A conversion names its message by a non-empty message_id or out_id."""
    given = [
        {"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
        for name in ("message_id", "out_id")
    ]
    return {**item, "anyOf": given}
