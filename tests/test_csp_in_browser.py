"""Every page a person uses carries the Content-Security-Policy, and headless Chromium walking them
records no violation while what their scripts do still works: the dashboard's charts, the template
form's live rule checks, the Sync runs page's live progress. A violation is seen twice over: the
page's securitypolicyviolation event, and Chromium's console error ("Refused to ..."), which the
`page` fixture collects."""

from __future__ import annotations

import django_rq
import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard

from apps.dashboard.demo import load_demo
from apps.dashboard.models import ExportKind, ExportRecord, ExportState
from apps.providers.models import ProviderAccount, SyncKind, SyncRun
from tests import rq_admin_urls
from tests.conftest import login
from tests.dashboard.test_dashboard_in_browser import wait_for_charts
from tests.progress import wait_for_progress

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) =>
  window.cspViolation(`${location.pathname}: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber}`));"""


@pytest.fixture
def watched(page):
    """The page, with every CSP violation of every document it loads in page.violations."""
    page.violations = []
    page.expose_function("cspViolation", lambda text: page.violations.append(text))
    page.add_init_script(REPORT_VIOLATIONS)
    return page


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
    assert "unsafe-inline" not in policy, url


def admin_pages(page) -> list[str]:
    """Every model's list, its add form and its first object's page, as linked from the list."""
    urls = []
    for model in admin.site._registry:
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        visit(page, changelist)
        urls.append(changelist)
        for link in ("a.addlink", "#result_list tbody tr th a, #result_list tbody tr td a"):
            found = page.locator(link)
            if found.count():
                urls.append(found.first.get_attribute("href"))
    return urls


def test_signed_out_pages_carry_the_policy_without_violations(watched, settings):
    visit(watched, "/admin/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        watched.fill("#id_username", "nobody")
        watched.fill("#id_password", "wrong")
        with watched.expect_response("**/admin/login/**") as answer:
            watched.click("input[type=submit]")
        watched.wait_for_selector(".errornote")
    # The last failure answers with the lockout page (an error status the fixture also notes).
    assert answer.value.status >= 400 and "content-security-policy" in answer.value.headers
    assert watched.locator("#lockout-message").count() == 1
    assert watched.violations == []
    assert [error for error in watched.console_errors if not error.startswith(("HTTP 4", "Failed to load"))] == []


def test_every_admin_page_carries_the_policy_and_none_is_violated(watched, root):
    load_demo(messages_scale=0.02)
    login(watched, "root")
    visit(watched, "/admin/")
    watched.wait_for_selector("#health-summary")
    for url in admin_pages(watched):
        visit(watched, url)
    for name in ("admin:password_change", "signin-two-factor"):
        try:
            visit(watched, reverse(name))
        except NoReverseMatch:
            continue
    assert watched.violations == []
    assert watched.console_errors == []


def test_dashboard_health_panel_and_exports_work_under_the_policy(watched, root, tmp_path, settings):
    load_demo(messages_scale=0.02)
    settings.DASHBOARD_EXPORT_DIR = tmp_path
    (tmp_path / "messages.csv").write_text("\ufeffprovider\n", encoding="utf-8")
    export = ExportRecord.objects.create(
        user=root, kind=ExportKind.MESSAGES, filename="messages.csv", state=ExportState.DONE, rows=0, total=0
    )
    login(watched, "root")
    visit(watched, "/admin/dashboard/")
    wait_for_charts(watched)  # Chart.js and dashboard.js ran and painted every chart
    visit(watched, "/admin/dashboard/health/")
    watched.wait_for_selector("#health-cards")
    visit(watched, reverse("dashboard:export-status", args=[export.pk]))
    watched.wait_for_selector("#export-download")
    visit(watched, "/admin/messaging/sentmessage/")
    with watched.expect_download() as info:
        watched.click("#export-csv")
    assert info.value.suggested_filename.endswith(".csv")
    assert watched.violations == []
    assert watched.console_errors == []


def test_the_template_forms_live_rule_checks_run_under_the_policy(watched, root):
    load_demo(messages_scale=0.01)
    account = ProviderAccount.objects.filter(provider="aliyun").first()
    login(watched, "root")
    visit(watched, "/admin/sms_templates/smstemplate/add/")
    watched.select_option("#id_account", str(account.pk))
    watched.select_option("#id_type", "verification")
    watched.fill("#id_name", "Login code")
    watched.fill("#id_content", "Hi ${name}, your code is ${code}.")
    assert "exactly one variable, ${code}; it has 2: ${name}, ${code}." in watched.inner_text("#live-rules")
    assert watched.inner_text("#count-name") == "10 / 30 characters"
    assert watched.violations == []
    assert watched.console_errors == []


def test_the_sync_runs_page_follows_a_running_run_under_the_policy(watched, root):
    load_demo(messages_scale=0.01)
    account = ProviderAccount.objects.first()
    run = SyncRun.objects.create(kind=SyncKind.DELIVERY, account=account, progress_done=1, progress_total=4)
    login(watched, "root")
    visit(watched, "/admin/providers/syncrun/")
    text = watched.locator(f'.sync-progress[data-run="{run.pk}"] .sync-progress-text')
    assert text.inner_text() == "25% (1/4)"
    SyncRun.objects.filter(pk=run.pk).update(progress_done=3)
    # sync_progress.js polls the progress view (a fetch the policy's connect-src allows).
    wait_for_progress(text.inner_text, lambda shown: shown == "75% (3/4)", what="the run's progress on the page")
    assert watched.violations == []
    assert watched.console_errors == []


RQ_PAGES = ["jobs", "finished_jobs", "failed_jobs", "scheduled_jobs", "started_jobs", "deferred_jobs", "workers"]


@pytest.fixture
def rq_admin(settings):
    """django-rq's queue pages in the admin for this test, whatever REDIS_URL was at start-up."""
    registered = Dashboard in admin.site._registry
    if not registered:
        admin.site.register(Dashboard, QueueAdmin)
    rq_admin_urls.build()
    settings.ROOT_URLCONF = "tests.rq_admin_urls"
    yield
    if not registered:
        admin.site.unregister(Dashboard)


def test_django_rq_queue_pages_run_their_actions_under_the_policy(watched, root, jobs_on_redis, rq_admin):
    django_rq.get_queue("default").enqueue("smsdash.queue.no_such_job")  # one row to select
    login(watched, "root")
    visit(watched, reverse("admin:django_rq_home"))
    for name in RQ_PAGES:
        visit(watched, reverse(f"admin:django_rq_{name}", args=[0]))
    visit(watched, reverse("admin:django_rq_jobs", args=[0]))
    # django-rq's select-all box works: Django's actions.js starts itself, so the inline script that
    # django-rq's templates add (and this project's replace) is not missed.
    watched.click("#action-toggle")
    assert watched.locator("tr input.action-select").first.is_checked()
    assert watched.violations == []
    # django-rq's lists lack the action counter Django 5's actions.js updates: its TypeError, which
    # the pages give without the policy too, is django-rq's; none may come from the policy.
    assert [e for e in watched.console_errors if "dataset" not in e] == []
