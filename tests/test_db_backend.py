"""The PostgreSQL backend's health check (smsdash/db/postgresql): a persistent connection the
server ended while idle is replaced before a request's first query; a live one is kept."""

from __future__ import annotations

import select

import psycopg
import pytest
from django.db import close_old_connections, connection

from tests.progress import wait_for_progress

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a check of PostgreSQL connections"),
    pytest.mark.django_db(transaction=True),  # outside a transaction, as a request's queries run
]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def new_request() -> None:
    """What Django does when a request starts: persistent connections are checked again."""
    close_old_connections()


def terminate(pid: int) -> None:
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=settings["NAME"],
        password=settings["PASSWORD"], autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    # Until the server's goodbye has reached our socket.
    wait_for_progress(lambda: bool(poller.poll(50)), bool, what="the terminated backend's goodbye", interval=0)


@pytest.fixture(autouse=True)
def persistent_connection():
    """A connection kept across requests with health checks on, as smsdash/env.py configures it."""
    original = {name: connection.settings_dict[name] for name in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.close()  # both settings are read when the connection opens
    connection.settings_dict.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
    yield
    connection.close()
    connection.settings_dict.update(original)


def test_a_connection_the_server_ended_is_replaced_before_the_next_requests_first_query():
    first = backend_pid()
    terminate(first)
    new_request()
    assert backend_pid() != first  # without the check, this query fails: "terminating connection"


def test_a_live_connection_is_kept_from_request_to_request():
    first = backend_pid()
    for _ in range(3):
        new_request()
        assert backend_pid() == first


def test_a_connection_left_in_an_aborted_transaction_is_replaced_before_the_next_request():
    first = backend_pid()
    raw = connection.connection
    raw.pgconn.exec_(b"BEGIN")
    raw.pgconn.exec_(b"SELECT 1 / 0")  # behind psycopg's back, as a crashed caller could leave it
    assert raw.info.transaction_status == raw.info.transaction_status.INERROR
    new_request()
    assert backend_pid() != first  # without the check: "current transaction is aborted"
