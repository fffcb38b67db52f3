"""Admin changelists never count a huge table: capped counts, and the planner's estimate on PostgreSQL."""

import pytest
from django.db import connection

from apps.messaging.models import SentMessage
from smsdash import paging
from tests.factories import make_account, make_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def messages():
    account = make_account()
    for _ in range(12):
        make_message(account)
    return SentMessage.objects.all()


def test_a_filtered_count_stops_at_the_cap(messages, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    assert paging.LargeTablePaginator(messages.filter(country="CN"), 50).count == 6
    monkeypatch.setattr(paging, "COUNT_CAP", 100)
    assert paging.LargeTablePaginator(messages.filter(country="CN"), 50).count == 12


def test_an_unfiltered_large_table_on_postgresql_uses_the_planner_estimate(messages, monkeypatch):
    monkeypatch.setattr(paging, "ESTIMATE_ABOVE", 3)
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    if connection.vendor != "postgresql":
        # SQLite has no cheap estimate: the unfiltered count is capped like any other.
        assert paging.LargeTablePaginator(messages, 50).count == 6
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {SentMessage._meta.db_table}")
    assert paging.LargeTablePaginator(messages.order_by("-sent_at"), 50).count == 12
