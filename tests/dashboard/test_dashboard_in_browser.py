"""The dashboard as an operator uses it, in headless Chromium, on the demo data."""

from __future__ import annotations

import pytest

from apps.dashboard.demo import load_demo
from tests.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CHARTS = ["chart-conversion", "chart-delivery", "chart-funnel", "chart-comparison", "chart-comparison-delivery"]

PAINTED = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
  return painted;
}"""


def wait_for_charts(page) -> None:
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart}[data-drawn]", state="attached")
        assert page.get_attribute(f"#{chart}", "data-drawn") not in ("error", "0"), chart
        assert page.evaluate(PAINTED, chart) > 500, f"{chart} is blank"


def kpi(page, name: str) -> int:
    return int(page.inner_text(f"#kpi-{name}"))


def test_an_operator_reads_the_dashboard_filters_it_and_downloads_csv(page, root, artifacts):
    load_demo(messages_scale=0.1)
    login(page, "root")
    page.click("#nav-dashboard")
    page.wait_for_selector("#dash-kpis")
    wait_for_charts(page)

    page.select_option("#id_range", "30d")  # submits: filters live in the URL
    page.wait_for_url("**range=30d**")
    wait_for_charts(page)
    everyone = kpi(page, "requested")
    drops = page.inner_text("#drops table")
    assert "Alibaba Cloud" in drops and "CN" in drops  # the demo's dip, nine days ago
    assert page.locator("#comparison td.best").count() >= 1

    page.select_option("#id_provider", "plivo")
    page.wait_for_url("**provider=plivo**")
    wait_for_charts(page)
    assert 0 < kpi(page, "requested") < everyone
    assert "range=30d" in page.url
    assert page.inner_text("#breakdown-table tbody").startswith("Plivo")
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    with page.expect_download() as info:
        page.click("#export-breakdown")
    download = info.value
    assert download.suggested_filename.startswith("smsdash-breakdown-by-provider-filtered-")
    text = open(download.path(), encoding="utf-8").read()
    assert text.startswith("\ufeffprovider,requested,accepted,delivered,verified,conversion_rate,delivery_rate")
    assert text.splitlines()[1].startswith(f"Plivo,{kpi(page, 'requested')},")
    assert page.console_errors == []


def test_the_dashboard_fits_a_phone_and_the_changelist_exports_its_filter(page, root, artifacts):
    load_demo(messages_scale=0.02)
    login(page, "root")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/dashboard/?range=24h")
    wait_for_charts(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/messaging/sentmessage/?delivery_status__exact=failed")
    with page.expect_download() as info:
        page.click("#export-csv")
    text = open(info.value.path(), encoding="utf-8").read()
    lines = text.splitlines()
    assert lines[0].startswith("\ufeffprovider_message_id,") and len(lines) > 1
    status = lines[0].split(",").index("delivery_status")
    assert {line.split(",")[status] for line in lines[1:]} == {"failed"}
    assert page.console_errors == []


def test_a_big_export_runs_in_the_background_and_the_audit_trail_lists_it(page, root, artifacts, settings, tmp_path):
    settings.DASHBOARD_EXPORT_STREAM_LIMIT = 50
    settings.DASHBOARD_EXPORT_DIR = tmp_path
    settings.JOBS_INLINE = True  # the job runs after the request's commit, in the server process
    load_demo(messages_scale=0.01)
    login(page, "root")
    page.goto("/admin/messaging/conversion/?status__exact=converted")
    page.click("#export-csv")
    page.wait_for_selector("#export-download")
    assert page.inner_text("#export-state") == "Done"
    assert "100%" in page.inner_text("#export-progress")
    page.screenshot(path=str(artifacts / "dashboard-export-job.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#export-download")
    lines = open(info.value.path(), encoding="utf-8").read().splitlines()
    assert len(lines) > 51 and lines[0].startswith("\ufeffprovider_message_id,")
    page.goto("/admin/dashboard/exportrecord/")
    assert "smsdash-conversions-filtered-" in page.inner_text("#result_list")
    page.goto("/admin/dashboard/dropalert/")
    page.wait_for_selector("#changelist")
    assert page.console_errors == []
