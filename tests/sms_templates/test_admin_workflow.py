"""The template admin as each role uses it, through HTTP: forms, workflow buttons, crafted POSTs."""

import pytest
from django.urls import reverse

from apps.providers.models import Provider
from apps.sms_templates import services, views
from apps.sms_templates.models import SIGN_NAME_REQUIRED, SmsTemplate, TemplateStatus
from tests.factories import make_account
from tests.sms_templates.conftest import template_in

pytestmark = pytest.mark.django_db

S = TemplateStatus
ADD_URL = reverse("admin:sms_templates_smstemplate_add")
LIST_URL = reverse("admin:sms_templates_smstemplate_changelist")


def change_url(template):
    return reverse("admin:sms_templates_smstemplate_change", args=[template.pk])


def step_url(template, step):
    return reverse("admin:sms_templates_smstemplate_workflow", args=[template.pk, step])


def as_user(client, user):
    client.force_login(user)
    return client


def form_data(account, **overrides):
    data = dict(account=account.pk, type="verification", name="Login code", content="Your code is ${code}.")
    data["remark"] = "Sent when a user signs in."
    data["sign_name"] = "smsdash"
    data["international_kind"] = "verification"
    data.update(overrides)
    return data


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_an_author_drafts_a_template_and_it_is_recorded(client, author, account):
    response = as_user(client, author).post(ADD_URL, form_data(account))
    assert response.status_code == 302
    template = SmsTemplate.objects.get(name="Login code")
    assert (template.status, template.author) == (S.DRAFT, author)
    assert [(t.actor, t.to_status, t.comment) for t in template.transitions.all()] == [(author, S.DRAFT, "Created.")]


def test_the_form_keeps_the_sign_name_and_refuses_an_alibaba_template_without_one(client, author, account):
    response = as_user(client, author).post(ADD_URL, form_data(account, sign_name=""))
    assert response.status_code == 200 and not SmsTemplate.objects.exists()
    message = SIGN_NAME_REQUIRED.format(account=account.name, type="verification code")
    assert response.context["adminform"].form.errors["sign_name"] == [message]
    as_user(client, author).post(ADD_URL, form_data(account, sign_name="Example"))
    assert SmsTemplate.objects.get().sign_name == "Example"


def test_the_form_refuses_a_rule_violation_naming_the_field_and_writes_nothing(client, author, account):
    data = form_data(account, content="Hi ${name}, your code is ${code}.", name="n" * 31)
    response = as_user(client, author).post(ADD_URL, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["name"] == ["Name must be at most 30 characters (it has 31)."]
    assert errors["content"] == [
        "A verification-code template must have exactly one variable, ${code}; it has 2: ${name}, ${code}."
    ]
    assert not SmsTemplate.objects.exists()


def test_plivo_accounts_are_not_offered_and_a_crafted_plivo_choice_is_refused(client, author, account):
    plivo = make_account(Provider.PLIVO, name="Plivo US")
    response = as_user(client, author).get(ADD_URL)
    choices = [label for _, label in response.context["adminform"].form.fields["account"].choices]
    assert str(account) in choices and str(plivo) not in choices
    response = client.post(ADD_URL, form_data(plivo))
    assert "Select a valid choice" in response.context["adminform"].form.errors["account"][0]


def test_promotional_types_are_refused_on_a_personal_account(client, author, account):
    response = as_user(client, author).post(ADD_URL, form_data(account, type="promotional", content="Sale ${x}"))
    assert response.context["adminform"].form.errors["type"] == [
        "Promotional templates are allowed only on enterprise accounts; Alibaba main is not one."
    ]


def test_the_page_carries_the_rules_for_the_live_checks(client, author, account):
    enterprise = make_account(name="Enterprise", is_enterprise=True)
    response = as_user(client, author).get(ADD_URL)
    rules = response.context["template_rules"]
    assert rules["limits"] == {"name": 30, "content": 500, "remark": 100}
    assert rules["accountTypes"][str(account.pk)] == ["verification", "notification"]
    assert len(rules["accountTypes"][str(enterprise.pk)]) == 4
    assert b'id="template-rules"' in response.content and b"sms_templates/template_form.js" in response.content


def test_a_reviewer_cannot_create_templates(client, reviewer, account):
    assert as_user(client, reviewer).get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, form_data(account)).status_code == 403
    assert not SmsTemplate.objects.exists()


def test_an_author_sees_the_steps_for_an_author_and_the_history(client, author):
    template = template_in(S.DRAFT, author=author)
    response = as_user(client, author).get(change_url(template))
    content = response.content.decode()
    assert [a.name for a in response.context["workflow_actions"]] == ["submit_for_review", "withdraw"]
    assert "Submit for internal review" in content and "Approve internally" not in content
    assert 'id="timeline"' in content and "created it as" in content
    assert "Your code is 123456." in content  # the preview with a sample code


def test_a_reviewer_approves_through_the_button(client, author, reviewer):
    template = template_in(S.AWAITING_REVIEW, author=author)
    response = as_user(client, reviewer).post(step_url(template, "approve"), {"comment": "Clear."}, follow=True)
    assert response.redirect_chain[-1][0] == change_url(template)
    assert messages_of(response) == [views.DONE["approve"].format(name=template.name)]
    template.refresh_from_db()
    assert (template.status, template.reviewer) == (S.INTERNALLY_APPROVED, reviewer)
    assert "Clear." in response.content.decode()


@pytest.mark.parametrize(
    "persona,step,status,message",
    [
        ("alice", "approve", S.AWAITING_REVIEW, services.ONLY_REVIEWERS.format(action="approve templates", user="{}")),
        (
            "alice",
            "submit_to_provider",
            S.INTERNALLY_APPROVED,
            services.ONLY_REVIEWERS.format(action="submit templates to the provider", user="{}"),
        ),
        (
            "bob",
            "submit_for_review",
            S.DRAFT,
            services.ONLY_AUTHORS.format(action="submit templates for review", user="{}"),
        ),
        (
            "charlie",
            "withdraw",
            S.DRAFT,
            services.ONLY_AUTHORS_OR_REVIEWERS.format(action="withdraw templates", user="{}"),
        ),
        ("charlie", "refresh_review", S.PROVIDER_REVIEW, views.ONLY_VIEWERS),
    ],
)
def test_a_crafted_post_by_the_wrong_role_is_refused_with_a_clear_message(
    client, author, reviewer, charlie, persona, step, status, message
):
    template = template_in(status, author=author, provider_template_code="SMS_1")
    user = {"alice": author, "bob": reviewer, "charlie": charlie}[persona]
    response = as_user(client, user).post(step_url(template, step), {"comment": "x"})
    assert response.status_code == 403
    assert message.format(persona) in response.content.decode()
    template.refresh_from_db()
    assert template.status == status and template.transitions.count() == 1


def test_a_reviewer_approving_their_own_template_is_refused(client, dana):
    template = template_in(S.AWAITING_REVIEW, author=dana)
    response = as_user(client, dana).post(step_url(template, "approve"))
    assert response.status_code == 403
    assert services.FOUR_EYES.format(user="dana", template=template.name) in response.content.decode()
    offered = as_user(client, dana).get(change_url(template)).context["workflow_actions"]
    assert "approve" not in [a.name for a in offered]


def test_a_step_from_the_wrong_state_goes_back_with_the_reason(client, author, reviewer):
    template = template_in(S.DRAFT, author=author)
    response = as_user(client, reviewer).post(step_url(template, "approve"), follow=True)
    assert messages_of(response) == [
        f"“{template.name}” is draft: it cannot be approved internally (only from: awaiting internal review)."
    ]
    assert SmsTemplate.objects.get(pk=template.pk).status == S.DRAFT


def test_send_back_without_a_comment_is_refused(client, author, reviewer):
    template = template_in(S.AWAITING_REVIEW, author=author)
    response = as_user(client, reviewer).post(step_url(template, "send_back"), {"comment": ""}, follow=True)
    assert messages_of(response) == [services.COMMENT_REQUIRED]


def test_workflow_steps_only_answer_post_and_unknown_steps_are_404(client, author, reviewer):
    template = template_in(S.AWAITING_REVIEW, author=author)
    as_user(client, reviewer)
    assert client.get(step_url(template, "approve")).status_code == 405
    assert client.post(step_url(template, "publish")).status_code == 404


def test_a_template_under_review_is_read_only_for_its_author(client, author):
    template = template_in(S.AWAITING_REVIEW, author=author)
    response = as_user(client, author).get(change_url(template))
    assert response.status_code == 200 and b'name="_save"' not in response.content
    response = client.post(change_url(template), {"name": "Changed", "content": "x", "remark": "y", "type": "x"})
    assert response.status_code == 403
    assert SmsTemplate.objects.get(pk=template.pk).name == template.name


def test_editing_a_sent_back_template_through_the_form_records_the_edit(client, author, account):
    template = template_in(S.SENT_BACK, author=author, account=account)
    data = form_data(account, name="Renamed login", content="Your login code: ${code}")
    response = as_user(client, author).post(change_url(template), data)
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.status) == ("Renamed login", S.SENT_BACK)
    assert template.transitions.last().comment == "Edited: name, content, remark."


def test_staff_without_rights_cannot_see_templates(client, charlie, author):
    template = template_in(S.DRAFT, author=author)
    as_user(client, charlie)
    assert client.get(LIST_URL).status_code == 403
    assert client.get(change_url(template)).status_code == 403


def test_a_draft_that_breaks_a_rule_cannot_go_to_review_and_the_page_says_why(client, author, account):
    template = template_in(S.DRAFT, author=author, account=account)
    SmsTemplate.objects.filter(pk=template.pk).update(content="Your code is ${otp}.")  # written before the rule
    response = as_user(client, author).post(step_url(template, "submit_for_review"), follow=True)
    assert messages_of(response) == ["The only variable of a verification-code template must be ${code}, not ${otp}."]
    assert SmsTemplate.objects.get(pk=template.pk).status == S.DRAFT
