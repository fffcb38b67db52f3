"""Fixtures for a job queue that is configured but unreachable (Redis stopped after the commit).

Import them into a test module: `from tests.queue_fixtures import closed_port, redis_down  # noqa: F401`.
"""

from __future__ import annotations

import pytest

from bench.processes import free_port


@pytest.fixture
def closed_port() -> int:
    """A local TCP port nothing listens on: connecting is refused at once."""
    return free_port()


@pytest.fixture
def redis_down(settings, closed_port):
    """Jobs go to a Redis that is not there, as with REDIS_URL set and the server stopped."""
    url = f"redis://127.0.0.1:{closed_port}/0"
    settings.REDIS_URL = url
    settings.JOBS_INLINE = False
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 600} for name in ("default", "reports", "sync")}
    return url
