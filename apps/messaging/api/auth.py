"""The request pipeline every ingest endpoint shares: token, method, content type, size, JSON.

Each refusal is a JSON body {"error": ..., "errors": {field: rule}} with a 4xx status, decided
before anything is written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.messaging.api import token_guard
from apps.messaging.services.tokens import api_token_authenticate

NO_TOKEN = "Authentication required: send 'Authorization: Bearer <token>' with an API token from the admin."
BAD_TOKEN = "This API token is unknown or revoked."
TOO_MANY_BAD_TOKENS = "Too many invalid API tokens from your address: retry in {seconds} seconds with a valid token."
ACCOUNT_INACTIVE = "This token's account is inactive: an administrator must reactivate the account first."
DATABASE_UNAVAILABLE = "The database is unavailable: retry later (repeating a request is safe)."
UNEXPECTED = "An unexpected error occurred and was logged: retry later (repeating a request is safe)."
RETRY_AFTER_SECONDS = 5

logger = logging.getLogger(__name__)
WRONG_ACCOUNT = "This token belongs to another account: it cannot read or write account {account}."
METHOD_NOT_ALLOWED = "Method {method} is not allowed here; use {allowed}."
WRONG_CONTENT_TYPE = "Content-Type must be application/json."
BODY_TOO_LARGE = "The request body must be at most {limit} bytes."
INVALID_JSON = "The body is not valid JSON: {error}."
EMPTY_BODY = "The body is empty: send a JSON object."


def error(status: int, message: str, errors: dict[str, str] | None = None, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message, "errors": errors or {}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _token(request: HttpRequest):
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None, error(401, NO_TOKEN, {"Authorization": NO_TOKEN}, WWW_Authenticate='Bearer realm="smsdash"')
    token = api_token_authenticate(raw.strip())
    if token is None:
        # Checked after the lookup, so a valid token from a blocked address still passes.
        address = token_guard.client_address(request)
        seconds = token_guard.blocked_for(address)
        if seconds:
            message = TOO_MANY_BAD_TOKENS.format(seconds=seconds)
            return None, error(429, message, {"Authorization": message}, Retry_After=str(seconds))
        token_guard.bad_token_seen(address)
        return None, error(
            401, BAD_TOKEN, {"Authorization": BAD_TOKEN}, WWW_Authenticate='Bearer error="invalid_token"'
        )
    if not token.account.is_active:
        return None, error(403, ACCOUNT_INACTIVE, {"Authorization": ACCOUNT_INACTIVE})
    return token, None


def _json_body(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    content_type = request.content_type or ""
    if content_type.lower() != "application/json":
        return None, error(415, WRONG_CONTENT_TYPE, {"Content-Type": WRONG_CONTENT_TYPE})
    limit = settings.API_MAX_BODY_BYTES
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            return None, _too_large(limit)
        raw = request.read(limit + 1)
    except (ValueError, RequestDataTooBig):
        return None, _too_large(limit)
    if len(raw) > limit:
        return None, _too_large(limit)
    if not raw.strip():
        return None, error(400, EMPTY_BODY, {"body": EMPTY_BODY})
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError) as exc:
        message = INVALID_JSON.format(error=str(exc)[:200])
        return None, error(400, message, {"body": message})


def _too_large(limit: int) -> JsonResponse:
    # Built only when needed: a response object per accepted request was measurable CPU.
    return error(413, BODY_TOO_LARGE.format(limit=limit), {"body": BODY_TOO_LARGE.format(limit=limit)})


def api_endpoint(*methods: str, json_body: bool = False) -> Callable:
    """Authenticate, check the method (and for writes the JSON body), then call view(request, token, body)."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            try:
                return checked(request, *args, **kwargs)
            except (OperationalError, InterfaceError):
                # The connection failed or was terminated: a database outage, which a retry survives
                # (every write is one transaction, so nothing was half-written).
                logger.exception("API %s %s: database unavailable", request.method, request.path)
                return error(503, DATABASE_UNAVAILABLE, Retry_After=str(RETRY_AFTER_SECONDS))
            except Exception:
                logger.exception("API %s %s failed", request.method, request.path)
                return error(500, UNEXPECTED)

        def checked(request: HttpRequest, *args, **kwargs):
            token, refusal = _token(request)
            if refusal:
                return refusal
            if request.method not in methods:
                message = METHOD_NOT_ALLOWED.format(method=request.method, allowed=", ".join(methods))
                return error(405, message, Allow=", ".join(methods))
            body = None
            if json_body:
                body, refusal = _json_body(request)
                if refusal:
                    return refusal
            return view(request, token, body, *args, **kwargs)

        return wrapper

    return decorate


def check_account(token, value: Any) -> JsonResponse | None:
    """An explicit account in a request must be the token's own: another account's data is a 403."""
    if value is None or value == "":
        return None
    if str(value) in (str(token.account_id), token.account.name):
        return None
    message = WRONG_ACCOUNT.format(account=str(value)[:80])
    return error(403, message, {"account": message})
