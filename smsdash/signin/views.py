"""The two-factor page of a staff user: enrol an authenticator app, or verify this session with it."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from smsdash.signin.forms import CodeForm, code_error, confirmed_device

ENROLLED = "Two-factor sign-in is on: from now on the admin login asks for the code your app shows."
VERIFIED = "Code accepted: this session is verified."


def _pending_device(user) -> TOTPDevice:
    # The same unconfirmed device (and so the same secret) until a code confirms it: reloading the
    # page must not invalidate what the person already scanned.
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def _enrolment_context(device: TOTPDevice) -> dict:
    uri = device.config_url
    return {
        "otpauth_uri": uri,
        # Inline SVG (no Pillow, no data: URI for the Content-Security-Policy to allow); a white
        # background keeps it scannable under the admin's dark theme.
        "qr_svg": segno.make(uri, error="m").svg_inline(scale=5, light="#fff", omitsize=False),
        "secret": b32encode(device.bin_key).decode(),
    }


def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (user.is_active and user.is_staff):
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    confirmed = confirmed_device(user)
    context = {**admin.site.each_context(request), "title": "Two-factor sign-in", "enrolled": confirmed is not None}
    if confirmed is not None and user.is_verified():
        return render(request, "signin/two_factor.html", context)
    device = confirmed or _pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        problem = code_error(device, form.cleaned_data["code"])
        if problem is None:
            return _accepted(request, device)
        form.add_error("code", problem)
    if confirmed is None:
        context.update(_enrolment_context(device))
    return render(request, "signin/two_factor.html", {**context, "form": form})


def _accepted(request: HttpRequest, device: TOTPDevice) -> HttpResponse:
    newly_enrolled = not device.confirmed
    if newly_enrolled:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    otp_login(request, device)
    messages.success(request, ENROLLED if newly_enrolled else VERIFIED)
    return redirect("admin:index")
