"""With ADMIN_2FA_REQUIRED, a staff session not verified by a code reaches only the two-factor page.

A middleware rather than the admin site's has_permission: the dashboard's views sit beside the
admin (staff_member_required), and one check here covers both.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse


class StaffTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.ADMIN_2FA_REQUIRED and self._must_verify(request):
            return redirect("signin-two-factor")
        return self.get_response(request)

    @staticmethod
    def _must_verify(request) -> bool:
        user = request.user
        if not (user.is_authenticated and user.is_staff) or user.is_verified():
            return False
        open_paths = (reverse("signin-two-factor"), reverse("admin:login"), reverse("admin:logout"))
        return request.path.startswith(reverse("admin:index")) and request.path not in open_paths
