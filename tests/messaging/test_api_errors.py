"""When the database goes away or a view fails unexpectedly, the API still answers its own JSON error
shape (never Django's HTML error page), and logs the traceback."""

from __future__ import annotations

import logging

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from apps.messaging.api import auth, views
from apps.messaging.models import SentMessage
from tests.progress import wait_for_progress

MESSAGE = {"message_id": "uuid-1", "phone": "+447700900001"}


def a_message() -> dict:
    return {**MESSAGE, "sent_at": timezone.now().isoformat()}


def assert_json_error(response, status: int, message: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": message, "errors": {}}


@pytest.mark.django_db
def test_an_unexpected_exception_in_a_view_is_a_json_500_logged_with_its_traceback(api, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "messages_record_batch", broken)
    with caplog.at_level(logging.ERROR, logger=auth.logger.name):
        response = api.post("messages", a_message())
    assert_json_error(response, 500, auth.UNEXPECTED)
    [record] = [r for r in caplog.records if r.name == auth.logger.name]
    assert record.exc_info[0] is RuntimeError and "POST /api/v1/messages" in record.getMessage()


@pytest.fixture
def database_unreachable(transactional_db):
    """Points the default connection at a database that cannot be opened, for the test's duration
    (SQLite: a file in a missing directory; PostgreSQL: a database that does not exist)."""
    settings_dict = connection.settings_dict
    original, kept = settings_dict["NAME"], None
    if connection.vendor == "sqlite":  # the in-memory test database would die with its connection
        kept, connection.connection = connection.connection, None
    else:
        connection.close()

    def cut():
        settings_dict["NAME"] = "/nonexistent/smsdash.sqlite3" if kept else original + "_missing"

    yield cut
    connection.close()
    settings_dict["NAME"] = original
    if kept:
        connection.connection = kept


def test_an_unreachable_database_is_a_json_503_with_retry_after(api, database_unreachable, caplog):
    database_unreachable()
    response = api.post("messages", a_message())
    assert_json_error(response, 503, auth.DATABASE_UNAVAILABLE)
    assert response["Retry-After"] == str(auth.RETRY_AFTER_SECONDS)
    assert any(r.exc_info for r in caplog.records if r.name == auth.logger.name)


def terminate(pid: int) -> None:
    """pg_terminate_backend from another connection, then wait until the backend is gone."""
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"] or None,
        host=params["HOST"],
        port=params["PORT"] or 5432,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
        wait_for_progress(lambda: other.execute(alive, [pid]).fetchone()[0], lambda n: n == 0, what="backend exit")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates a PostgreSQL backend")
@pytest.mark.django_db(transaction=True)
def test_a_request_whose_connection_is_terminated_midway_is_a_json_503(api, monkeypatch):
    record = views.messages_record_batch

    def terminated_first(**kwargs):
        terminate(connection.connection.info.backend_pid)
        return record(**kwargs)

    monkeypatch.setattr(views, "messages_record_batch", terminated_first)
    response = api.post("messages", a_message())
    assert_json_error(response, 503, auth.DATABASE_UNAVAILABLE)
    connection.close()  # the test client keeps the dead connection; the next request would replace it
    monkeypatch.setattr(views, "messages_record_batch", record)
    assert api.post("messages", a_message()).status_code == 201  # the retry the answer asked for
    assert SentMessage.objects.count() == 1
