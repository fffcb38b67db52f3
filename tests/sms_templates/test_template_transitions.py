"""Every workflow step, allowed and refused, for each role (services: the one path for all entry points).

alice writes, bob reviews, dana writes and reviews, charlie is staff without rights, root is superuser.
"""

import pytest

from apps.sms_templates import services
from apps.sms_templates.models import SmsTemplate, SubmissionAttempt, TemplateStatus
from tests.sms_templates.conftest import template_in

pytestmark = pytest.mark.django_db

S = TemplateStatus

# step -> (service, from, to, who may do it, refusal message for the others)
STEPS = {
    "submit_for_review": (
        services.template_submit_for_review,
        S.DRAFT,
        S.AWAITING_REVIEW,
        {"alice", "dana", "root"},
        services.ONLY_AUTHORS.format(action="submit templates for review", user="{user}"),
    ),
    "approve": (
        services.template_approve_internally,
        S.AWAITING_REVIEW,
        S.INTERNALLY_APPROVED,
        {"bob", "dana", "root"},
        services.ONLY_REVIEWERS.format(action="approve templates", user="{user}"),
    ),
    "send_back": (
        services.template_send_back,
        S.AWAITING_REVIEW,
        S.SENT_BACK,
        {"bob", "dana", "root"},
        services.ONLY_REVIEWERS.format(action="send templates back", user="{user}"),
    ),
    "submit_to_provider": (
        services.template_submit_to_provider,
        S.INTERNALLY_APPROVED,
        S.SUBMITTED,
        {"bob", "dana", "root"},
        services.ONLY_REVIEWERS.format(action="submit templates to the provider", user="{user}"),
    ),
    "withdraw": (
        services.template_withdraw,
        S.DRAFT,
        S.WITHDRAWN,
        {"alice", "bob", "dana", "root"},
        services.ONLY_AUTHORS_OR_REVIEWERS.format(action="withdraw templates", user="{user}"),
    ),
}
PERSONAS = ["alice", "bob", "charlie", "dana", "root"]


@pytest.fixture
def people(author, reviewer, charlie, dana, root):
    return {"alice": author, "bob": reviewer, "charlie": charlie, "dana": dana, "root": root}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("step", list(STEPS))
def test_each_step_is_allowed_to_its_roles_and_refused_to_the_others(step, persona, people):
    service, source, target, allowed, refusal = STEPS[step]
    template = template_in(source, author=people["alice"])
    actor = people[persona]
    if persona in allowed:
        service(template=template, actor=actor, comment="Looks right.")
        assert template.status == target
        last = template.transitions.last()
        assert (last.actor, last.from_status, last.to_status, last.comment) == (actor, source, target, "Looks right.")
    else:
        with pytest.raises(services.TemplateRoleError) as refused:
            service(template=template, actor=actor, comment="Looks right.")
        assert refused.value.message == refusal.format(user=persona)
        template.refresh_from_db()
        assert template.status == source
        assert template.transitions.count() == 1


ALLOWED_FROM = {
    "submit_for_review": services.SUBMIT_FOR_REVIEW_FROM,
    "approve": services.APPROVE_FROM,
    "send_back": services.SEND_BACK_FROM,
    "submit_to_provider": services.SUBMIT_TO_PROVIDER_FROM,
    "withdraw": services.WITHDRAW_FROM,
}


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("status", list(S))
def test_each_step_is_refused_from_the_wrong_states(step, status, people):
    service, *_ = STEPS[step]
    template = template_in(status, author=people["alice"])
    actor = people["root"]
    if status in ALLOWED_FROM[step]:
        service(template=template, actor=actor, comment="ok")
        assert template.transitions.count() == 2
        return
    with pytest.raises(services.TemplateWorkflowError) as refused:
        service(template=template, actor=actor, comment="ok")
    assert refused.value.message.startswith(f"“{template.name}” is {status.label.lower()}: it cannot be ")
    template.refresh_from_db()
    assert template.status == status and template.transitions.count() == 1


def test_a_reviewer_cannot_approve_their_own_template(dana, erin):
    template = template_in(S.AWAITING_REVIEW, author=dana)
    with pytest.raises(services.TemplateRoleError) as refused:
        services.template_approve_internally(template=template, actor=dana)
    assert refused.value.message == services.FOUR_EYES.format(user="dana", template=template.name)
    services.template_approve_internally(template=template, actor=erin)
    assert (template.status, template.reviewer) == (S.INTERNALLY_APPROVED, erin)


def test_four_eyes_also_counts_whoever_edited_the_template(author, dana, erin):
    template = template_in(S.DRAFT, author=author)
    services.template_update(template=template, actor=dana, content="Your login code is ${code}.")
    services.template_submit_for_review(template=template, actor=author)
    with pytest.raises(services.TemplateRoleError):
        services.template_approve_internally(template=template, actor=dana)
    services.template_approve_internally(template=template, actor=erin)
    assert template.status == S.INTERNALLY_APPROVED


def test_a_superuser_is_held_to_four_eyes_too(root, reviewer):
    template = template_in(S.AWAITING_REVIEW, author=root)
    with pytest.raises(services.TemplateRoleError):
        services.template_approve_internally(template=template, actor=root)


def test_sending_back_needs_a_comment(author, reviewer):
    template = template_in(S.AWAITING_REVIEW, author=author)
    with pytest.raises(services.TemplateWorkflowError) as refused:
        services.template_send_back(template=template, actor=reviewer, comment="   ")
    assert refused.value.message == services.COMMENT_REQUIRED
    assert SmsTemplate.objects.get(pk=template.pk).status == S.AWAITING_REVIEW


def test_only_authors_create_and_edit_templates(author, reviewer, account):
    fields = dict(account=account, name="Login", type="verification", content="Code ${code}", remark="Login.")
    fields["sign_name"] = "smsdash"
    with pytest.raises(services.TemplateRoleError) as refused:
        services.template_create(actor=reviewer, **fields)
    assert refused.value.message == services.ONLY_AUTHORS.format(action="create templates", user="bob")
    template = services.template_create(actor=author, **fields)
    assert (template.status, template.author) == (S.DRAFT, author)
    with pytest.raises(services.TemplateRoleError):
        services.template_update(template=template, actor=reviewer, name="Changed")


@pytest.mark.parametrize("status", [S.AWAITING_REVIEW, S.INTERNALLY_APPROVED, S.PROVIDER_REVIEW, S.APPROVED])
def test_templates_under_review_or_approved_cannot_be_edited(status, author):
    template = template_in(status, author=author)
    with pytest.raises(services.TemplateWorkflowError) as refused:
        services.template_update(template=template, actor=author, content="Your code: ${code}")
    assert "it cannot be edited" in refused.value.message
    assert SmsTemplate.objects.get(pk=template.pk).content == "Your code is ${code}."


def test_an_edit_that_breaks_a_rule_is_refused_and_nothing_is_written(author):
    template = template_in(S.DRAFT, author=author)
    with pytest.raises(services.TemplateRuleError) as refused:
        services.template_update(template=template, actor=author, content="Hi ${name}, code ${code}")
    assert refused.value.errors == {
        "content": ["A verification-code template must have exactly one variable, ${code}; it has 2: ${name}, ${code}."]
    }
    assert SmsTemplate.objects.get(pk=template.pk).content == "Your code is ${code}."
    assert template.transitions.count() == 1


def test_a_rejected_template_is_edited_and_resubmitted_keeping_its_history(author, reviewer, erin):
    rejection = dict(provider_template_code="SMS_1", provider_reason="Too vague", provider_status="rejected")
    template = template_in(S.REJECTED, author=author, **rejection)
    services.template_update(template=template, actor=author, content="Your example.com login code is ${code}.")
    services.template_submit_for_review(template=template, actor=author, comment="Named the service.")
    services.template_approve_internally(template=template, actor=erin)
    services.template_submit_to_provider(template=template, actor=reviewer)
    assert template.status == S.SUBMITTED
    assert (template.provider_template_code, template.provider_reason, template.provider_status) == ("", "", "")
    steps = [(t.from_status, t.to_status) for t in template.transitions.all()]
    assert steps == [
        ("", S.DRAFT),
        (S.REJECTED, S.REJECTED),
        (S.REJECTED, S.AWAITING_REVIEW),
        (S.AWAITING_REVIEW, S.INTERNALLY_APPROVED),
        (S.INTERNALLY_APPROVED, S.SUBMITTED),
    ]
    assert template.transitions.last().comment == "Previous provider template code: SMS_1."
    assert SubmissionAttempt.objects.filter(template=template, requested_by=reviewer).count() == 1


def test_a_sent_back_template_goes_back_to_review_after_an_edit(author, reviewer):
    template = template_in(S.AWAITING_REVIEW, author=author)
    services.template_send_back(template=template, actor=reviewer, comment="Say which app.")
    assert services.template_update(template=template, actor=author, name="App login code") == ["name"]
    services.template_submit_for_review(template=template, actor=author)
    assert template.status == S.AWAITING_REVIEW
    assert template.transitions.filter(comment="Say which app.").exists()
