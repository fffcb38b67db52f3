"""Shared fixtures. Personas, as in healthchecks' hc/test.py:

- alice: writes templates (group "Template authors" once the workflow exists), staff
- bob: reviews templates, staff
- charlie: staff without any permission
- root: superuser, the operator who sets up accounts
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests import services

# The provider simulator fixtures (`simulator`, `simulated_account`) every app's tests use.
pytest_plugins = ["tests.simulator"]

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
PASSWORD = "correct horse battery staple"


# The provider simulator runs on 127.0.0.1, which only a deployment that says so may call with an
# account's keys (apps/providers/clients/endpoints.py): for the processes tests start (gunicorn,
# rqworker) through the environment, for this one through the fixture (settings are already loaded).
os.environ["PROVIDER_ALLOW_LOCAL_ENDPOINTS"] = "true"


@pytest.fixture(autouse=True)
def local_provider_endpoints(settings):
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = True


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Personas are created in most tests; the production hasher costs 0.25 s per password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    # Each test its own empty cache: counters kept there (invalid API tokens per address) must not
    # carry over to the next test, nor land in the Redis of REDIS_URL that other runs share.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD, is_staff=True)


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", "bob@example.com", PASSWORD, is_staff=True)


@pytest.fixture
def charlie(db):
    return get_user_model().objects.create_user("charlie", "charlie@example.com", PASSWORD, is_staff=True)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def redis_connection():
    """A real Redis database, flushed before and after the test."""
    import redis

    connection = redis.Redis.from_url(services.test_redis_url())
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        services.missing(f"Redis is not reachable at {services.test_redis_url()}")
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def jobs_on_redis(redis_connection, settings):
    """Jobs go to rq queues on the test Redis database, as with REDIS_URL set; the circuit breakers'
    Redis connections are dropped around the test so they follow the same URL."""
    from apps.providers import breaker

    url = services.test_redis_url()
    settings.REDIS_URL = url
    settings.JOBS_INLINE = False
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 600} for name in ("default", "reports", "sync")}
    breaker._connections.clear()
    yield redis_connection
    breaker._connections.clear()


@pytest.fixture
def processes():
    """Processes a test starts (objects with stop()); each is stopped at the end, passed or failed."""
    started = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    path = services.chromium_path()
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page; console errors fail the test that produced them."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.on("response", lambda r: r.status >= 400 and page.console_errors.append(f"HTTP {r.status} {r.url}"))
    yield page
    context.close()


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
