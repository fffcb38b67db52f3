"""The seed's template rules, on both sides of every limit, through SmsTemplate.full_clean()."""

import pytest
from django.core.exceptions import ValidationError

from apps.providers.models import Provider
from apps.sms_templates import rules
from apps.sms_templates.models import SIGN_NAME_REQUIRED, SmsTemplate, TemplateType, allowed_types
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def errors_of(**fields) -> dict[str, list[str]]:
    defaults = dict(name="Login", type=TemplateType.NOTIFICATION, content="Hello ${name}", remark="Use case.")
    defaults["sign_name"] = "smsdash"
    defaults.update(fields)
    defaults.setdefault("account", make_account(is_enterprise=False))
    try:
        SmsTemplate(**defaults).full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


def test_a_name_of_30_characters_is_accepted_and_31_refused():
    assert errors_of(name="n" * 30) == {}
    assert errors_of(name="n" * 31) == {"name": ["Name must be at most 30 characters (it has 31)."]}


def test_content_of_500_characters_is_accepted_and_501_refused():
    assert errors_of(content="c" * 500) == {}
    assert errors_of(content="c" * 501) == {"content": ["Content must be at most 500 characters (it has 501)."]}


def test_remark_is_required_and_at_most_100_characters():
    assert errors_of(remark="r" * 100) == {}
    assert errors_of(remark="r" * 101) == {"remark": ["Remark must be at most 100 characters (it has 101)."]}
    assert errors_of(remark="  ") == {"remark": [rules.REMARK_REQUIRED]}


def test_chinese_characters_count_one_each():
    assert errors_of(name="验" * 30) == {}
    assert errors_of(name="验" * 31)["name"] == ["Name must be at most 30 characters (it has 31)."]


def test_a_verification_template_with_exactly_the_code_variable_is_accepted():
    assert errors_of(type=TemplateType.VERIFICATION, content="Your code is ${code}, again ${code}.") == {}


def test_it_refuses_a_second_variable_in_a_verification_template():
    errors = errors_of(type=TemplateType.VERIFICATION, content="Hi ${name}, your code is ${code}.")
    assert errors == {
        "content": ["A verification-code template must have exactly one variable, ${code}; it has 2: ${name}, ${code}."]
    }


def test_it_refuses_a_verification_template_without_a_variable():
    errors = errors_of(type=TemplateType.VERIFICATION, content="Your code is 1234.")
    assert errors == {"content": ["A verification-code template must have exactly one variable, ${code}; it has 0."]}


def test_the_only_variable_of_a_verification_template_must_be_the_code():
    errors = errors_of(type=TemplateType.VERIFICATION, content="Your code is ${otp}.")
    assert errors == {"content": ["The only variable of a verification-code template must be ${code}, not ${otp}."]}


def test_malformed_variables_are_named():
    errors = errors_of(content="Hello ${first name}")
    assert errors == {"content": [rules.BAD_VARIABLE.format(name="first name")]}


@pytest.mark.parametrize("template_type", [TemplateType.PROMOTIONAL, TemplateType.INTERNATIONAL])
def test_promotional_and_international_need_an_enterprise_account(template_type):
    personal = make_account(is_enterprise=False, name="Personal")
    enterprise = make_account(is_enterprise=True, name="Enterprise")
    label = TemplateType(template_type).label
    assert errors_of(account=personal, type=template_type) == {
        "type": [f"{label} templates are allowed only on enterprise accounts; Personal is not one."]
    }
    assert errors_of(account=enterprise, type=template_type) == {}


def test_only_the_types_an_account_allows_are_offered():
    assert TemplateType.PROMOTIONAL not in allowed_types(make_account(is_enterprise=False))
    assert set(allowed_types(make_account(is_enterprise=True))) == set(TemplateType)


def test_plivo_accounts_have_no_templates():
    plivo = make_account(Provider.PLIVO, name="Plivo US")
    assert errors_of(account=plivo) == {"account": [rules.NO_TEMPLATE_API.format(account="Plivo US")]}


def test_several_violations_are_reported_together():
    errors = errors_of(name="n" * 31, content="", remark="")
    assert set(errors) == {"name", "content", "remark"}


def test_variables_and_preview():
    assert rules.find_variables("${a} ${b} ${a}") == ["a", "b"]
    assert rules.render_preview("Code ${code} for ${name}", {"name": "Ann"}) == "Code 123456 for Ann"


def test_an_alibaba_template_needs_the_sign_name_it_is_sent_with():
    account = make_account(is_enterprise=False, name="Alibaba main")
    for type_ in (TemplateType.VERIFICATION, TemplateType.NOTIFICATION):
        content = "Your code is ${code}." if type_ == TemplateType.VERIFICATION else "Hello ${name}"
        errors = errors_of(account=account, type=type_, content=content, sign_name=" ")
        label = TemplateType(type_).label.lower()
        assert errors == {"sign_name": [SIGN_NAME_REQUIRED.format(account="Alibaba main", type=label)]}


def test_an_international_alibaba_template_needs_no_sign_name():
    assert errors_of(account=make_account(is_enterprise=True), type=TemplateType.INTERNATIONAL, sign_name="") == {}


@pytest.mark.parametrize("provider,api", [(Provider.TENCENT, "current"), (Provider.ALIYUN, "legacy")])
def test_tencent_and_the_legacy_alibaba_api_need_no_sign_name(provider, api):
    account = make_account(provider, alibaba_template_api=api)
    assert errors_of(account=account, sign_name="") == {}
