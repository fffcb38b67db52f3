"""The OpenAPI 3.1 description of the ingest API, served at /api/v1/openapi.json."""

from __future__ import annotations

from apps.messaging.models import ConversionStatus

_DATETIME = {"type": "string", "format": "date-time", "example": "2026-11-23T08:30:00Z"}

MESSAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["message_id", "phone", "sent_at"],
    "properties": {
        "message_id": {"type": "string", "maxLength": 64, "description": "Alibaba BizId, Tencent SerialNo, Plivo uuid"},
        "phone": {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$", "example": "+6591234567"},
        "sent_at": _DATETIME,
        "template_code": {"type": "string", "maxLength": 64},
        "out_id": {"type": "string", "maxLength": 64, "description": "Your own reference for the message"},
        "trackable": {"type": "boolean", "default": True, "description": "Plivo: sent with trackable=true"},
        "content": {"type": "string", "maxLength": 2000},
    },
}
CONVERSION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["status"],
    "description": "Identify the message by message_id, or by out_id when that is unique in the account.",
    "properties": {
        "message_id": {"type": "string", "maxLength": 64},
        "out_id": {"type": "string", "maxLength": 64},
        "status": {"type": "string", "enum": ConversionStatus.values},
        "converted_at": {**_DATETIME, "description": "When the code was entered; default: now"},
    },
}
ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}, "description": "field -> rule"},
    },
}
SINGLE_RESULT = {
    "type": "object",
    "properties": {"result": {"type": "string", "enum": ["created", "duplicate"]}, "id": {"type": "integer"}},
}
BATCH_RESULT = {
    "type": "object",
    "properties": {
        "created": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "errors": {"type": "integer"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "result": {"type": "string", "enum": ["created", "duplicate", "error"]},
                    "id": {"type": "integer"},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        },
    },
}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _ingest(name: str, item: dict, summary: str) -> dict:
    batch = {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": item}},
    }
    return {
        "post": {
            "summary": summary,
            "operationId": f"record_{name}",
            "requestBody": {"required": True, **_json({"oneOf": [item, batch]})},
            "responses": {
                "201": {"description": "Created (single item)", **_json(SINGLE_RESULT)},
                "200": {"description": "Duplicate (single item) or batch result, item by item", **_json(BATCH_RESULT)},
                "400": {"description": "Invalid JSON, empty body or not an object", **_json(ERROR)},
                "401": {"description": "No valid token", **_json(ERROR)},
                "403": {"description": "The body names another account", **_json(ERROR)},
                "413": {"description": "Body or batch too large", **_json(ERROR)},
                "415": {"description": "Content-Type is not application/json", **_json(ERROR)},
                "422": {"description": "The item (or every batch item) was refused", **_json(ERROR)},
            },
        }
    }


def _stats() -> dict:
    params = [
        ("start", "Period start (ISO 8601 date or date-time); default: 24 hours ago"),
        ("end", "Period end, exclusive; default: now"),
        ("group_by", "Comma-separated: provider, account, template, country"),
        ("provider", "Filter: aliyun, tencent or plivo"),
        ("account", "Your account id or name (another account answers 403)"),
        ("template", "Filter: template code"),
        ("country", "Filter: ISO 3166 code, e.g. CN"),
    ]
    return {
        "get": {
            "summary": "Requested, verified and conversion rate (verified / requested) for a period",
            "operationId": "conversion_stats",
            "parameters": [
                {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
                for name, text in params
            ],
            "responses": {
                "200": {"description": "Totals and groups", **_json({"type": "object"})},
                "400": {"description": "Invalid query", **_json(ERROR)},
                "401": {"description": "No valid token", **_json(ERROR)},
                "403": {"description": "Another account", **_json(ERROR)},
            },
        }
    }


def schema(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsdash ingest API",
            "version": "1",
            "description": "Record sent OTP messages and their conversions; smsdash reports each conversion "
            "to its provider in the background. Authenticate with 'Authorization: Bearer <token>' (admin → "
            "API tokens). Repeating a request is safe: it is answered as a duplicate.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/messages": _ingest("messages", MESSAGE, "Record one sent message, or a batch of up to 1,000"),
            "/conversions": _ingest("conversions", CONVERSION, "Record one conversion, or a batch of up to 1,000"),
            "/stats": _stats(),
        },
    }
