"""Who may do what with templates. Groups are created by migration 0003; checks go through
permissions so a superuser passes them, but four eyes applies to everybody."""

from __future__ import annotations

from typing import Any

AUTHORS_GROUP = "Template authors"
REVIEWERS_GROUP = "Template reviewers"

AUTHOR_PERM = "sms_templates.add_smstemplate"
REVIEWER_PERM = "sms_templates.review_smstemplate"

# codenames each group receives (app_label, codename)
AUTHOR_PERMISSIONS = [
    ("sms_templates", "add_smstemplate"),
    ("sms_templates", "change_smstemplate"),
    ("sms_templates", "view_smstemplate"),
    ("sms_templates", "view_templatetransition"),
]
REVIEWER_PERMISSIONS = [
    ("sms_templates", "review_smstemplate"),
    ("sms_templates", "view_smstemplate"),
    ("sms_templates", "view_templatetransition"),
]


def is_author(user: Any) -> bool:
    return bool(user and user.is_active and user.has_perm(AUTHOR_PERM))


def is_reviewer(user: Any) -> bool:
    return bool(user and user.is_active and user.has_perm(REVIEWER_PERM))
