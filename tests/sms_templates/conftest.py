"""Personas with their template roles: alice writes, bob reviews, dana both writes and reviews,
erin is a second reviewer; charlie is staff without rights (tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from apps.sms_templates import roles
from apps.sms_templates.models import SmsTemplate, TemplateStatus, TemplateTransition
from apps.sms_templates.roles import AUTHORS_GROUP, REVIEWERS_GROUP
from tests.conftest import PASSWORD
from tests.factories import make_account, make_template


def group(name: str) -> Group:
    """The group migration 0003 created. A transactional test's flush deletes it (permissions come
    back through post_migrate, data migrations do not), so rebuild it the same way when missing."""
    found, created = Group.objects.get_or_create(name=name)
    if created:
        wanted = roles.AUTHOR_PERMISSIONS if name == AUTHORS_GROUP else roles.REVIEWER_PERMISSIONS
        for app_label, codename in wanted:
            found.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def join(user, *groups: str):
    for name in groups:
        user.groups.add(group(name))
    return get_user_model().objects.get(pk=user.pk)  # fresh: permission caches are per instance


@pytest.fixture
def author(alice):
    return join(alice, AUTHORS_GROUP)


@pytest.fixture
def reviewer(bob):
    return join(bob, REVIEWERS_GROUP)


@pytest.fixture
def dana(db):
    user = get_user_model().objects.create_user("dana", "dana@example.com", PASSWORD, is_staff=True)
    return join(user, AUTHORS_GROUP, REVIEWERS_GROUP)


@pytest.fixture
def erin(db):
    user = get_user_model().objects.create_user("erin", "erin@example.com", PASSWORD, is_staff=True)
    return join(user, REVIEWERS_GROUP)


@pytest.fixture
def account(db):
    return make_account(name="Alibaba main", is_enterprise=False)


def template_in(status: str, *, author, account=None, **fields) -> SmsTemplate:
    """A template put straight into a state, with its creation recorded, as the workflow would leave it."""
    template = make_template(account=account, author=author, status=status, **fields)
    TemplateTransition.objects.create(template=template, actor=author, to_status=TemplateStatus.DRAFT)
    return template
