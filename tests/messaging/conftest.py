"""Fixtures of the ingest API and reporting tests."""

from __future__ import annotations

import json

import pytest

from apps.messaging.services import api_token_create
from tests.factories import make_account
from tests.messaging.workers import WorkerProcess


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, client, raw_token: str | None):
        self.client = client
        self.raw_token = raw_token

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.raw_token}"} if self.raw_token else {}

    def post(self, path: str, body, **extra):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        extra.setdefault("content_type", "application/json")
        return self.client.post(f"/api/v1/{path}", data, **self._headers(), **extra)

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"/api/v1/{path}", params or {}, **self._headers())


@pytest.fixture
def account(db):
    return make_account("plivo")


@pytest.fixture
def api(client, account):
    _, raw = api_token_create(account=account, name="login service")
    return ApiClient(client, raw)


@pytest.fixture
def rq_redis(jobs_on_redis, settings):
    """Jobs go to a real Redis (the test database of it), as with REDIS_URL set."""
    # In-process workers report on one thread: other threads' connections cannot see a test transaction.
    # Worker processes keep the default THREADS (the tests with shared_database).
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "THREADS": 1}
    return jobs_on_redis


@pytest.fixture
def shared_database(transactional_db, tmp_path):
    """A database URL other processes (rq workers) can open and see this test's committed rows.

    PostgreSQL: the test database itself. SQLite: the in-memory test database is invisible to
    other processes, so the test runs on a migrated file database instead, for its duration.
    """
    from django.core.management import call_command
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        user = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else "")
        yield f"postgres://{user}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        return
    # Closing an in-memory SQLite connection would destroy the suite's database: set it aside.
    original, in_memory = settings_dict["NAME"], connection.connection
    path = tmp_path / "shared.sqlite3"
    connection.connection = None
    settings_dict["NAME"] = str(path)
    try:
        call_command("migrate", verbosity=0)
        yield f"sqlite:///{path}"
    finally:
        connection.close()
        settings_dict["NAME"] = original
        connection.connection = in_memory


@pytest.fixture(autouse=True)
def no_worker_outlives_its_test():
    yield
    WorkerProcess.kill_all_started()
