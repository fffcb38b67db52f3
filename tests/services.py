"""Real services the suite needs (Redis, Chromium). Missing locally: the test is skipped with the
reason. Missing under CI=true: the test fails, because CI must never pass by skipping."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


def test_redis_url() -> str:
    """A Redis database the tests may flush: REDIS_URL's server, database 15 unless TEST_REDIS_URL says."""
    if os.environ.get("TEST_REDIS_URL"):
        return os.environ["TEST_REDIS_URL"]
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return base.rsplit("/", 1)[0] + "/15"


def chromium_path() -> str:
    if not (os.path.exists(CHROMIUM_PATH) or shutil.which(CHROMIUM_PATH)):
        missing(f"Chromium is not installed at {CHROMIUM_PATH} (make test installs Debian's chromium)")
    return CHROMIUM_PATH


test_redis_url.__test__ = False  # a helper, not a test
