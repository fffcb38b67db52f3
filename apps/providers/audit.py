"""What the audit log (django-auditlog) records of the changes that grant or move power: provider
accounts, API tokens, users, groups and their permissions. Each entry says who (the signed-in user,
set by AuditlogMiddleware), when, and which fields changed, with their old and new values, except
secrets: a secret field that changed is listed with SECRET_CHANGED_MASK on both sides, never its value
or any part of it (auditlog's default mask keeps the second half of the value). Entries are listed
under Admin > Auditlog > Log entries.
"""

from __future__ import annotations

from collections.abc import Collection

from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

SECRET_SET_MASK = "•••••••• (set)"
SECRET_EMPTY_MASK = "(empty)"
# auditlog writes a field it has no value for (the old side of a new row) as the text "None".
NO_VALUE = ("", "None")


def mask_secret(value: str) -> str:
    """Whether a secret is set, never any of its characters."""
    return SECRET_EMPTY_MASK if value in NO_VALUE else SECRET_SET_MASK


def audit(model, *, secrets: Collection[str] = (), ignore: Collection[str] = (), m2m: Collection[str] = ()) -> None:
    """Record every change to `model`; `secrets` are masked, `ignore` (bookkeeping) left out."""
    auditlog.register(
        model,
        mask_fields=list(secrets),
        mask_callable="apps.providers.audit.mask_secret",
        exclude_fields=list(ignore),
        m2m_fields=set(m2m),
    )


def audit_user_access() -> None:
    """Users and groups: who is staff or superuser, in which groups, with which permissions."""
    audit(get_user_model(), secrets=["password"], ignore=["last_login"], m2m=["groups", "user_permissions"])
    audit(Group, m2m=["permissions"])
