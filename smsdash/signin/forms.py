"""The admin login form (password, then the two-factor code once enrolled) and the enrolment form."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from smsdash.boundary import digits_rule

CODE_REQUIRED = "Enter the 6-digit code from your authenticator app: two-factor sign-in is on for this user."
CODE_FORMAT = "The code must be the 6 digits (0-9) your authenticator app shows."
CODE_WRONG = "This code does not match: enter the code your app shows now (check the phone's clock)."
CODE_THROTTLED = "Too many wrong codes: wait a minute, then enter the code your app shows now."
CODE_WIDGET = forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8})


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def code_error(device: TOTPDevice, code: str) -> str | None:
    """Checks a code against the device (throttled by django-otp, each step usable once); the rule it breaks or None."""
    code = (code or "").replace(" ", "")
    if not code:
        return CODE_REQUIRED
    if digits_rule(code) or not code.isdigit() or len(code) != device.digits:
        return CODE_FORMAT
    with transaction.atomic():
        # Locked so two requests cannot both use the same code (django-otp records the last step used).
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            return CODE_THROTTLED
        if not device.verify_token(code):
            return CODE_WRONG
    return None


class SignInForm(AdminAuthenticationForm):
    """Username and password; a user with a confirmed device must also give its current code."""

    otp_token = forms.CharField(label="Two-factor code", required=False, max_length=12, widget=CODE_WIDGET)

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        device = confirmed_device(user)
        if device is None:
            return cleaned
        problem = code_error(device, cleaned.get("otp_token", ""))
        if problem:
            if problem != CODE_REQUIRED:
                # A wrong code counts as a failed sign-in for the lockout, as a wrong password does.
                user_login_failed.send(
                    sender=__name__, credentials={"username": user.get_username()}, request=self.request
                )
            raise forms.ValidationError(problem, code="otp")
        user.otp_device = device  # django-otp marks the session verified when Django logs the user in
        return cleaned


class CodeForm(forms.Form):
    code = forms.CharField(label="Code from your app", max_length=12, widget=CODE_WIDGET)
