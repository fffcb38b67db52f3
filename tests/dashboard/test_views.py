"""The dashboard page and its Chart.js data views, through HTTP."""

from __future__ import annotations

import json
import warnings

import pytest
from django.urls import reverse

from apps.dashboard import forms
from tests.conftest import PASSWORD
from tests.dashboard.fixture import load_fixture

pytestmark = pytest.mark.django_db

SHANGHAI_TWO_DAYS = {"range": "custom", "start": "2026-11-20", "end": "2026-11-21", "tz": "Asia/Shanghai"}


@pytest.fixture
def staff_client(client, charlie):
    client.login(username="charlie", password=PASSWORD)
    return client


def chart(client, name: str, **params) -> dict:
    response = client.get(reverse(f"dashboard:chart-{name}"), params)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def dataset(data: dict, label: str) -> list:
    return next(d["data"] for d in data["datasets"] if d["label"] == label)


def test_only_staff_see_the_dashboard(client, db):
    from django.contrib.auth import get_user_model

    response = client.get(reverse("dashboard:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get(reverse("dashboard:chart-conversion")).status_code == 302
    get_user_model().objects.create_user("dave", password=PASSWORD)  # not staff
    client.login(username="dave", password=PASSWORD)
    assert client.get(reverse("dashboard:index")).status_code == 302


def test_the_conversion_chart_has_rates_counts_and_no_view_key(staff_client):
    load_fixture()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # django-chartjs on Django 5.2: none
        data = chart(staff_client, "conversion", **SHANGHAI_TWO_DAYS)
    assert "view" not in data
    assert data["labels"] == ["2026-11-20", "2026-11-21"]
    assert dataset(data, "Requested") == [4, 3]
    assert dataset(data, "Verified") == [2, 2]
    assert dataset(data, "Conversion rate %") == [50.0, 66.67]


def test_the_delivery_funnel_and_comparison_charts(staff_client):
    load_fixture()
    params = {"range": "custom", "start": "2026-11-20", "end": "2026-11-21", "tz": "UTC"}
    delivery = chart(staff_client, "delivery", **params)
    assert dataset(delivery, "Delivery rate %") == [66.67, 100.0]
    assert dataset(delivery, "Receipt rate %") == [83.33, 100.0]
    funnel = chart(staff_client, "funnel", **params)
    assert funnel["labels"] == ["Requested", "Accepted", "Delivered", "Verified"]
    assert dataset(funnel, "Alibaba Cloud") == [4, 4, 3, 2]
    assert dataset(funnel, "Plivo") == [3, 2, 2, 2]
    comparison = chart(staff_client, "comparison", **params)
    assert comparison["labels"] == ["CN", "US"]
    assert dataset(comparison, "Alibaba Cloud") == [50.0, None]
    delivery_by_country = chart(staff_client, "comparison", metric="delivery", **params)
    assert dataset(delivery_by_country, "Plivo") == [None, 66.67]


def test_bad_filters_answer_400_naming_the_field_and_rule(staff_client):
    response = staff_client.get(reverse("dashboard:chart-conversion"), {"tz": "Mars/Olympus"})
    assert response.status_code == 400
    assert json.loads(response.content)["errors"]["tz"][0]["message"] == forms.UNKNOWN_TZ
    response = staff_client.get(reverse("dashboard:chart-delivery"), {"range": "custom", "start": "2026-11-20"})
    assert json.loads(response.content)["errors"]["end"][0]["message"] == forms.CUSTOM_NEEDS_DATES
    response = staff_client.get(
        reverse("dashboard:chart-funnel"), {"range": "30d", "granularity": "hour", "country": "cn"}
    )
    assert json.loads(response.content)["errors"]["country"][0]["message"] == forms.BAD_COUNTRY
    too_long = {"range": "custom", "start": "2026-10-01", "end": "2026-11-20", "granularity": "hour"}
    response = staff_client.get(reverse("dashboard:chart-funnel"), too_long)
    assert response.status_code == 400
    assert json.loads(response.content)["errors"]["granularity"] == [forms.TOO_MANY_HOURS]
    page = staff_client.get(reverse("dashboard:index"), {"range": "custom", "start": "2026-11-22", "end": "2026-11-20"})
    assert page.status_code == 400 and forms.START_AFTER_END in page.content.decode()


def test_the_page_shows_totals_funnel_comparison_and_breakdown(staff_client):
    load_fixture()
    response = staff_client.get(reverse("dashboard:index"), {**SHANGHAI_TWO_DAYS, "by": "country"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="kpi-requested">7<' in html and 'id="kpi-verified">4<' in html
    assert 'id="kpi-conversion">57.1%<' in html
    assert "chart.umd.min.js" in html and "cdn" not in html.lower()
    assert "<td>CN</td><td>4</td><td>4</td><td>3</td><td>2</td><td>50.0%</td>" in html
    assert 'data-by="country"' in html and "export/breakdown/?" in html


def test_the_admin_home_and_navigation_link_to_the_dashboard(client, root):
    client.login(username="root", password=PASSWORD)
    html = client.get(reverse("admin:index")).content.decode()
    url = reverse("dashboard:index")
    assert f'href="{url}" id="dashboard-link"' in html
    assert f'href="{url}" id="nav-dashboard"' in html
    assert 'id="nav-dashboard"' in client.get(reverse("admin:messaging_sentmessage_changelist")).content.decode()


def test_with_no_range_in_the_url_the_page_shows_the_range_it_uses(staff_client):
    page = staff_client.get(reverse("dashboard:index")).content.decode()
    assert '<option value="7d" selected>Last 7 days</option>' in page
    assert '<option value="24h" selected>' not in page
