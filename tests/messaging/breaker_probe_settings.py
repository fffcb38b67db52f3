"""Settings of the worker processes of test_reporting_breaker_probe.py: the project's own, with a
cool-down short enough for a test (the breaker's rule is the same at 3 s as at 30 s)."""

from smsdash.settings import *  # noqa: F403

CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 5, "COOL_DOWN_SECONDS": 3}
