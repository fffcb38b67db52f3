"""The lockout check of django-axes, which must come first in AUTHENTICATION_BACKENDS."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out user and address before any password is checked.

    A call without a request does not come from a sign-in form (every web sign-in passes its
    request): it comes from code, such as Django's test Client.login. axes would raise there; this
    leaves it to the next backend, as there is no client address to count against.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
