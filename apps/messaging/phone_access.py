"""Who may see phone numbers in full: superusers and users with the "view phone numbers" permission.
Everyone else sees them through phone.mask_phone, in every page and export."""

from __future__ import annotations

from apps.messaging.phone import mask_phone

PHONE_PERMISSION = "messaging.view_phone_number"


def can_see_phones(user) -> bool:
    # has_perm is True for an active superuser and False for an inactive or anonymous user.
    return bool(user is not None and user.has_perm(PHONE_PERMISSION))


def phone_for(user, phone: str) -> str:
    return phone if can_see_phones(user) else mask_phone(phone)
