"""Headers of a production deployment, each checked in a fresh interpreter with production settings
(DEBUG off, secrets set), since settings.py reads the environment once: the Content-Security-Policy,
X-Forwarded-Proto trusted only when TRUST_X_FORWARDED_PROTO says a proxy in front sets it, and the
deployment checklist clean either way. Every page in a browser: tests/test_csp_in_browser.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOST = "sms.example.com"
PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="sms.example.com")
seen = {}
for name, path, headers in [
    ("forwarded", "/", {"HTTP_X_FORWARDED_PROTO": "https"}),
    ("plain", "/", {}),
    ("missing", "/no-such-page/", {"secure": True}),
]:
    response = client.get(path, **headers)
    headers = response.headers
    seen[name] = [response.status_code, headers.get("Location", ""), headers.get("Content-Security-Policy", "")]
print(json.dumps(seen))
"""


def production_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DJANGO_SETTINGS_MODULE="smsdash.settings",
        DEBUG="false",
        SECRET_KEY="x" * 60 + "-production-like-secret-key-value-0123456789",
        FIELD_ENCRYPTION_KEYS="jLgTEYyu2Z0iAhhvzwc1pG1sVY4o-O8fmIOr2-4W1Kk=",
        ALLOWED_HOSTS=HOST,
        SMSDASH_VAR_DIR=str(tmp_path),
        **extra,
    )
    if "TRUST_X_FORWARDED_PROTO" not in extra:
        env.pop("TRUST_X_FORWARDED_PROTO", None)
    return env


def probe(tmp_path, **extra) -> dict:
    env = production_env(tmp_path, **extra)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_x_forwarded_proto_is_ignored_without_a_proxy_setting(tmp_path):
    seen = probe(tmp_path)
    # A client claiming https over plain http is still sent to https.
    assert seen["forwarded"][:2] == [301, f"https://{HOST}/"]
    assert seen["plain"][:2] == [301, f"https://{HOST}/"]


def test_x_forwarded_proto_is_honoured_when_a_proxy_in_front_sets_it(tmp_path):
    seen = probe(tmp_path, TRUST_X_FORWARDED_PROTO="true")
    assert seen["forwarded"][:2] == [302, "/admin/"]
    assert seen["plain"][:2] == [301, f"https://{HOST}/"]


def test_a_production_response_carries_a_policy_allowing_no_inline_script_or_style(tmp_path):
    status, _, policy = probe(tmp_path)["missing"]
    assert status == 404
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize("trust", ["false", "true"])
def test_the_deployment_checklist_is_clean_with_or_without_a_trusted_proxy(tmp_path, trust):
    env = production_env(tmp_path, TRUST_X_FORWARDED_PROTO=trust)
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
