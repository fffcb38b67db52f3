"""The page shown to a person locked out after too many failed sign-ins (AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

LOCKED_OUT = "Too many failed sign-ins for this user from your address: sign-in is blocked."


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    cool_off = get_cool_off(request)
    # axes stamps the request with the moment of the failed attempt; the cool-off runs from it
    # (and starts again with every attempt made while locked out).
    attempted = getattr(request, "axes_attempt_time", None) or timezone.now()
    context = {
        **admin.site.each_context(request),
        "title": "Sign-in blocked",
        "message": LOCKED_OUT,
        "username": get_client_username(request, credentials) or "",
        "failure_limit": get_failure_limit(request, credentials),
        "retry_at": attempted + cool_off if cool_off else None,
        "cool_off_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    response = render(request, "signin/locked_out.html", context, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
