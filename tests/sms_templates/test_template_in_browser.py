"""The template workflow as people use it, in headless Chromium, with screenshots of each step."""

import re
import time

import pytest

from apps.sms_templates import views
from apps.sms_templates.models import SmsTemplate, TemplateStatus
from tests.conftest import login
from tests.progress import countdown, wait_for_progress
from tests.sms_templates.conftest import template_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

REVIEW_DELAY = 2.0  # seconds the simulator's reviewers take
OUTCOME_BANNER = ".messagelist li:not(#jobs-inline-banner)"  # a step's message, not the inline-jobs notice


def status_of(page) -> str:
    return page.inner_text("#workflow-status")


def logout(page) -> None:
    page.click("#logout-form button[type=submit]")
    page.wait_for_selector("text=Log in again")


def test_an_author_drafts_a_code_template_and_a_reviewer_gets_it_approved_by_the_provider(
    page, author, reviewer, simulator, simulated_account, artifacts, settings
):
    settings.JOBS_INLINE = True  # the submission job runs after the request commits, in the live server
    simulator.set_review(outcome="auto", delay=REVIEW_DELAY)
    account = simulated_account("aliyun", name="Alibaba production")

    login(page, "alice")
    page.goto("/admin/sms_templates/smstemplate/add/")
    page.select_option("#id_account", str(account.pk))
    page.select_option("#id_type", "verification")
    page.fill("#id_name", "Login code")
    page.fill("#id_content", "Hi ${name}, your code is ${code}.")
    assert "exactly one variable, ${code}; it has 2: ${name}, ${code}." in page.inner_text("#live-rules")
    page.fill("#id_content", "Your example.com login code is ${code}. It expires in 5 minutes.")
    page.fill("#id_sign_name", "Example")
    page.fill("#id_remark", "Sent when a user signs in to example.com.")
    assert page.inner_text("#count-name") == "10 / 30 characters"
    assert page.inner_text("#live-rules") == ""
    assert page.inner_text(".field-variables_found .readonly") == "${code}"
    preview = page.inner_text(".field-preview .readonly")
    assert preview == "Your example.com login code is 123456. It expires in 5 minutes."
    page.screenshot(path=str(artifacts / "template-1-author-drafts.png"), full_page=True)
    page.click("input[name=_continue]")
    page.wait_for_selector("#workflow")
    assert status_of(page) == "Draft"
    page.fill("#workflow-comment", "Ready for review.")
    page.click("#workflow-submit_for_review")
    page.wait_for_selector("text=is now awaiting internal review")
    assert status_of(page) == "Awaiting internal review"
    page.screenshot(path=str(artifacts / "template-2-author-submits-for-review.png"), full_page=True)
    logout(page)

    login(page, "bob")
    page.goto("/admin/sms_templates/smstemplate/?status__exact=awaiting_review")
    page.click("#result_list a:text('Login code')")
    page.wait_for_selector("#workflow")
    assert page.locator("input[name=_save]").count() == 0  # reviewers read, they do not edit
    page.click("#workflow-approve")
    page.wait_for_selector("text=is internally approved")
    page.screenshot(path=str(artifacts / "template-3-reviewer-approves.png"), full_page=True)
    page.click("#workflow-submit_to_provider")
    page.wait_for_selector("#provider-code")
    assert status_of(page) == "Under provider review"
    code = page.inner_text("#provider-code")
    assert re.fullmatch(r"SMS_\d+", code)
    page.screenshot(path=str(artifacts / "template-4-submitted-to-provider.png"), full_page=True)

    def refresh_review() -> None:
        page.click("#workflow-refresh_review")
        page.wait_for_selector(OUTCOME_BANNER)

    # The provider's review takes REVIEW_DELAY seconds: its countdown is progress, then the refresh must show it.
    reviewed = simulator.template("aliyun", code)
    wait_for_progress(
        lambda: (status_of(page), countdown(reviewed.decide_at - time.monotonic())),
        lambda sample: sample[0] == "Approved (ready to use)",
        step=refresh_review,
        interval=0.5,
        what="the provider review shown after Refresh",
    )
    assert page.inner_text("#provider-status") == "Approved"
    timeline = page.inner_text("#timeline")
    for line in ["created it as Draft", "Ready for review.", "to Internally approved", "to Approved (ready to use)"]:
        assert line in timeline
    page.screenshot(path=str(artifacts / "template-5-approved-by-provider.png"), full_page=True)
    template = SmsTemplate.objects.get(name="Login code")
    assert (template.status, template.author.username, template.reviewer.username) == (
        TemplateStatus.APPROVED,
        "alice",
        "bob",
    )
    assert page.console_errors == []


def test_the_form_offers_only_the_types_the_account_allows_and_counts_while_typing(
    page, author, simulated_account, artifacts
):
    personal = simulated_account("aliyun", name="Personal", is_enterprise=False)
    enterprise = simulated_account("tencent", name="Enterprise", is_enterprise=True)
    simulated_account("plivo", name="Plivo US")
    login(page, "alice")
    page.goto("/admin/sms_templates/smstemplate/add/")
    accounts = page.locator("#id_account option").all_inner_texts()
    assert not any("Plivo" in label for label in accounts)

    def types():
        return [o for o in page.locator("#id_type option").all_inner_texts() if o != "---------"]

    page.select_option("#id_account", str(personal.pk))
    assert types() == ["Verification code", "Notification"]
    page.select_option("#id_account", str(enterprise.pk))
    assert types() == ["Verification code", "Notification", "Promotional", "International"]
    page.fill("#id_name", "验" * 31)
    assert page.inner_text("#count-name") == "31 / 30 characters"
    assert "Name must be at most 30 characters (it has 31)." in page.inner_text("#live-rules")
    page.select_option("#id_type", "notification")
    page.fill("#id_content", "Hello ${first name}")
    assert "Variable ${first name} is not valid" in page.inner_text("#live-rules")
    page.screenshot(path=str(artifacts / "template-form-live-rules.png"), full_page=True)
    page.click("input[name=_save]")  # the server says the same as the page did
    assert "Name must be at most 30 characters (it has 31)." in page.inner_text(".errorlist")
    assert not SmsTemplate.objects.exists()
    assert page.console_errors == []


def test_a_reviewer_sends_templates_back_in_bulk_and_the_author_reads_why(
    page, author, reviewer, simulated_account, artifacts
):
    account = simulated_account("aliyun", name="Alibaba production")
    first, second = (template_in(TemplateStatus.AWAITING_REVIEW, author=author, account=account) for _ in range(2))
    login(page, "bob")
    page.goto(f"/admin/sms_templates/smstemplate/?status__exact=awaiting_review&account__id__exact={account.pk}")
    assert page.locator("#result_list tbody tr").count() == 2
    page.check("#action-toggle")
    page.select_option("select[name=action]", "send_back")
    page.click("button[name=index]")
    page.wait_for_selector("text=These templates go back to their authors")
    page.fill("#id_comment", "Say which app sends the code.")
    page.screenshot(path=str(artifacts / "template-bulk-send-back.png"), full_page=True)
    page.click("input[value='Send back']")
    page.wait_for_selector("text=2 templates sent back.")
    logout(page)

    login(page, "alice")
    page.goto(f"/admin/sms_templates/smstemplate/{first.pk}/change/")
    assert status_of(page) == "Sent back with comments"
    assert "Say which app sends the code." in page.inner_text("#timeline")
    assert page.locator("input[name=_save]").count() == 1  # the author can edit it again
    second.refresh_from_db()
    assert second.status == TemplateStatus.SENT_BACK
    assert page.console_errors == []


def test_a_crafted_approval_by_the_author_gets_a_page_saying_why(page, author, simulated_account, artifacts):
    template = template_in(TemplateStatus.AWAITING_REVIEW, author=author, account=simulated_account())
    login(page, "alice")
    page.goto(f"/admin/sms_templates/smstemplate/{template.pk}/change/")
    assert page.locator("#workflow-approve").count() == 0  # not offered to an author
    # Turn the withdraw button into an approve button, as a crafted POST would.
    page.evaluate(
        "document.getElementById('workflow-withdraw').setAttribute('formaction', "
        f"'/admin/sms_templates/smstemplate/{template.pk}/workflow/approve/')"
    )
    page.click("#workflow-withdraw")
    page.wait_for_selector("#refusal")
    assert page.inner_text("#refusal") == (
        "Only template reviewers may approve templates; alice is not in the “Template reviewers” group."
    )
    page.screenshot(path=str(artifacts / "template-crafted-post-refused.png"), full_page=True)
    template.refresh_from_db()
    assert template.status == TemplateStatus.AWAITING_REVIEW
    page.click(f"text=Back to “{template.name}”")
    page.wait_for_selector("#workflow")
    refused_url = page.url.replace("/change/", "/workflow/approve/")
    assert f"HTTP 403 {refused_url}" in page.console_errors  # the refusal, and nothing else went wrong
    assert all("403" in error for error in page.console_errors)


def test_a_rejection_found_by_refresh_is_a_warning_banner_with_the_reason(
    page, author, reviewer, simulator, simulated_account, artifacts
):
    account = simulated_account("aliyun", name="Alibaba production")
    code = "SMS_900001"
    simulator.add_template("aliyun", code=code, status="rejected", reason="The remark does not say which app sends it.")
    template = template_in(TemplateStatus.PROVIDER_REVIEW, author=author, account=account, provider_template_code=code)
    login(page, "bob")
    page.goto(f"/admin/sms_templates/smstemplate/{template.pk}/change/")
    page.click("#workflow-refresh_review")
    banner = page.locator(OUTCOME_BANNER)
    banner.wait_for()
    assert banner.get_attribute("class") == "warning"
    assert banner.inner_text() == views.PROVIDER_REJECTED.format(
        name=template.name, reason="The remark does not say which app sends it."
    )
    # Django admin's warning yellow (--message-warning-bg #ffc), not its success green (#dfd)
    shown = banner.evaluate("element => getComputedStyle(element).backgroundColor")
    assert shown == "rgb(255, 255, 204)"
    page.screenshot(path=str(artifacts / "template-rejection-warning-banner.png"), full_page=True)
    assert status_of(page) == "Rejected by provider"
    assert page.console_errors == []
