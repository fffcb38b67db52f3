"""The template list: bulk review actions by role, filters, CSV export."""

import csv
import io

import pytest
from django.urls import reverse

from apps.sms_templates import services
from apps.sms_templates.models import TemplateStatus
from tests.factories import make_account
from tests.sms_templates.conftest import template_in

pytestmark = pytest.mark.django_db

S = TemplateStatus
LIST_URL = reverse("admin:sms_templates_smstemplate_changelist")


def run_action(client, action, templates, **extra):
    data = {"action": action, "_selected_action": [t.pk for t in templates], **extra}
    return client.post(LIST_URL, data, follow=True)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def action_names(client):
    return [name for name, _ in client.get(LIST_URL).context["action_form"].fields["action"].choices if name]


WORKFLOW_ACTIONS = {"submit_for_review", "approve", "send_back", "submit_to_provider", "withdraw"}


def test_each_role_is_offered_its_own_bulk_actions(client, author, reviewer, root):
    client.force_login(author)
    assert WORKFLOW_ACTIONS & set(action_names(client)) == {"submit_for_review", "withdraw"}
    client.force_login(reviewer)
    assert WORKFLOW_ACTIONS & set(action_names(client)) == {"approve", "send_back", "submit_to_provider", "withdraw"}
    client.force_login(root)
    assert WORKFLOW_ACTIONS <= set(action_names(client))


def test_a_reviewer_approves_in_bulk_and_four_eyes_holds_per_template(client, author, dana):
    theirs = [template_in(S.AWAITING_REVIEW, author=author) for _ in range(2)]
    own = template_in(S.AWAITING_REVIEW, author=dana)
    client.force_login(dana)
    response = run_action(client, "approve", [*theirs, own])
    assert messages_of(response) == [
        "2 templates approved internally.",
        services.FOUR_EYES.format(user="dana", template=own.name),
    ]
    statuses = [t.status for t in type(own).objects.filter(pk__in=[t.pk for t in theirs])]
    assert statuses == [S.INTERNALLY_APPROVED, S.INTERNALLY_APPROVED]
    own.refresh_from_db()
    assert own.status == S.AWAITING_REVIEW


def test_a_crafted_bulk_approve_by_an_author_does_nothing(client, author):
    template = template_in(S.AWAITING_REVIEW, author=author)
    client.force_login(author)
    response = run_action(client, "approve", [template])
    assert response.status_code == 200
    assert any("No action selected" in m for m in messages_of(response))
    template.refresh_from_db()
    assert template.status == S.AWAITING_REVIEW


def test_bulk_send_back_asks_for_a_comment_first(client, author, reviewer):
    templates = [template_in(S.AWAITING_REVIEW, author=author) for _ in range(2)]
    client.force_login(reviewer)
    response = run_action(client, "send_back", templates)
    assert "Send templates back with a comment" in response.content.decode()
    response = run_action(client, "send_back", templates, apply="yes", comment="")
    assert "This field is required." in response.content.decode()
    assert all(t.status == S.AWAITING_REVIEW for t in type(templates[0]).objects.all())
    response = run_action(client, "send_back", templates, apply="yes", comment="Name the app.")
    assert messages_of(response) == ["2 templates sent back."]
    for template in templates:
        template.refresh_from_db()
        assert template.status == S.SENT_BACK and template.transitions.last().comment == "Name the app."


def test_bulk_submission_for_review_reports_what_it_could_not_do(client, author):
    draft, approved = template_in(S.DRAFT, author=author), template_in(S.APPROVED, author=author)
    client.force_login(author)
    response = run_action(client, "submit_for_review", [draft, approved])
    assert messages_of(response) == [
        "1 template submitted for review.",
        f"“{approved.name}” is approved (ready to use): it cannot be submitted for internal review "
        "(only from: draft, sent back with comments, rejected by provider).",
    ]


def test_filters_by_state_type_and_account(client, author, reviewer, account):
    other = make_account(name="Alibaba second")
    draft = template_in(S.DRAFT, author=author, account=account)
    waiting = template_in(S.AWAITING_REVIEW, author=author, account=other)
    notice = template_in(S.DRAFT, author=author, account=other, type="notification", content="Hi ${name}")
    client.force_login(reviewer)

    def listed(query):
        return {t.pk for t in client.get(LIST_URL, query).context["cl"].result_list}

    assert listed({"status__exact": "draft"}) == {draft.pk, notice.pk}
    assert listed({"type__exact": "notification"}) == {notice.pk}
    assert listed({"account__id__exact": other.pk}) == {waiting.pk, notice.pk}


def test_the_csv_export_lists_the_filtered_templates_with_their_state_and_no_secret(client, author, reviewer, account):
    approved = template_in(S.APPROVED, author=author, account=account, reviewer=reviewer, provider_template_code="S4")
    template_in(S.DRAFT, author=author, account=account)  # filtered out
    client.force_login(reviewer)
    page = client.get(LIST_URL, {"status__exact": "approved"})
    assert 'id="export-csv"' in page.content.decode()
    response = client.get(page.context["export_csv_url"])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["name"], r["status"], r["provider_template_code"], r["reviewer"]) for r in rows] == [
        (approved.name, "approved", "S4", "bob")
    ]
    assert "aliyun-test-secret" not in body
