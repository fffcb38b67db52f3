"""Settings read from the environment, checked in a fresh interpreter for each environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from smsdash.env import database_from_url, envbool

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']),"
    " 'inline': settings.JOBS_INLINE, 'redis': settings.RQ_QUEUES['default']['URL'], 'debug': settings.DEBUG,"
    " 'tz': settings.TIME_ZONE, 'hosts': settings.ALLOWED_HOSTS}))"
)


def run_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG")}
    clean.update(SMSDASH_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="smsdash.settings", **env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True)


def settings_for(tmp_path, **env) -> dict:
    result = run_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_no_environment_it_uses_sqlite_under_var_and_runs_jobs_inline(tmp_path):
    seen = settings_for(tmp_path)
    assert seen["engine"] == "django.db.backends.sqlite3"
    assert seen["name"] == str(tmp_path / "smsdash.sqlite3")
    assert seen["inline"] is True and seen["debug"] is True


def test_database_url_and_redis_url_switch_to_postgresql_and_redis(tmp_path):
    seen = settings_for(
        tmp_path,
        DATABASE_URL="postgres://u:p@db.example:5433/smsdash",
        REDIS_URL="redis://r:6379/2",
        TIME_ZONE="Asia/Shanghai",
    )
    assert seen["engine"] == "smsdash.db.postgresql"
    assert seen["name"] == "smsdash"
    assert seen["inline"] is False and seen["redis"] == "redis://r:6379/2"
    assert seen["tz"] == "Asia/Shanghai"


def test_it_refuses_to_start_with_debug_off_and_no_secret_key(tmp_path):
    result = run_settings(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_a_malformed_boolean_is_refused_by_name(tmp_path):
    result = run_settings(tmp_path, DEBUG="maybe")
    assert "DEBUG must be one of" in result.stderr


def test_the_deployment_checklist_passes_with_debug_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DEBUG="false",
        SECRET_KEY="x" * 60 + "-production-like-secret-key-value-0123456789",
        FIELD_ENCRYPTION_KEYS="jLgTEYyu2Z0iAhhvzwc1pG1sVY4o-O8fmIOr2-4W1Kk=",
        ALLOWED_HOSTS="sms.example.com",
        SMSDASH_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_database_urls_are_parsed():
    assert database_from_url("sqlite:///var/x.sqlite3")["NAME"] == "var/x.sqlite3"
    pg = database_from_url("postgres://user:p%40ss@localhost:5432/db?sslmode=require")
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "user",
        "p@ss",
        "localhost",
        "5432",
        "db",
    )
    # Prepared statements by default; a query parameter can turn them off (PgBouncer before 1.21).
    assert pg["OPTIONS"] == {"sslmode": "require", "server_side_binding": True, "prepare_threshold": 5}
    pooled = database_from_url("postgres://localhost/db?prepare_threshold=&server_side_binding=false")
    assert pooled["OPTIONS"] == {"server_side_binding": False, "prepare_threshold": None}
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must start with sqlite:// or postgres://"):
        database_from_url("mysql://localhost/db")


def test_envbool_reads_the_usual_words(monkeypatch):
    monkeypatch.setenv("X_FLAG", "Yes")
    assert envbool("X_FLAG", "false") is True
    monkeypatch.setenv("X_FLAG", "0")
    assert envbool("X_FLAG", "true") is False
