"""Typed readers for environment variables that fail loudly on malformed values.

Only smsdash/settings.py calls these; the rest of the code reads django.conf.settings.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(TRUE_WORDS | FALSE_WORDS)}, not {value!r}")


def envint(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _option(value: str):
    """A DATABASE_URL query value as the driver wants it: true/false, a number, empty for None."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value == "":
        return None
    return int(value) if value.isdigit() else value


def database_from_url(url: str) -> dict:
    """Turn sqlite:///path or postgres://user:pass@host:port/name?opt=v into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as dj-database-url reads them.
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parsed.path[1:] or ":memory:"}
    if parsed.scheme in ("postgres", "postgresql", "pgsql"):
        # Server-side binding with prepared statements: PostgreSQL parses and plans a repeated query
        # once per connection. The ingest lookup took a fifth of the CPU to plan (issue 4 benchmark).
        # Behind PgBouncer in transaction mode before 1.21, set ?prepare_threshold= (empty: off).
        options: dict = {"server_side_binding": True, "prepare_threshold": 5}
        for key, values in parse_qs(parsed.query, keep_blank_values=True).items():
            options[key] = _option(values[-1])
        return {
            "ENGINE": "smsdash.db.postgresql",  # Django's, with a health check without a round trip
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(f"DATABASE_URL must start with sqlite:// or postgres://, not {parsed.scheme or url!r}")


def dev_secret(var_dir, name: str, make) -> str:
    """A development-only secret generated once and kept in var/dev-secrets.json (mode 0600).

    Every process of `make run` (web, worker, cron) must share the same SECRET_KEY and field
    encryption key, and they must survive a restart, so a per-process random value will not do.
    """
    import json
    from pathlib import Path

    path = Path(var_dir) / "dev-secrets.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        stored = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        stored = {}
    if name not in stored:
        stored[name] = make()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
    return stored[name]


def make_fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).decode()
