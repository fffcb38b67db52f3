"""smsdash settings. The environment is read here and nowhere else.

With no environment at all `runserver` starts: DEBUG on, SQLite under var/, jobs inline.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from smsdash.env import database_from_url, dev_secret, envbool, envint, envlist, make_fernet_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SMSDASH_VAR_DIR", BASE_DIR / "var"))

DEBUG = envbool("DEBUG", "true")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = dev_secret(VAR_DIR, "SECRET_KEY", lambda: "dev-" + secrets.token_urlsafe(40))

# Fernet keys for provider secrets at rest, comma-separated, newest first (MultiFernet rotation).
# Development falls back to a key generated once under var/ (see env.dev_secret).
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS", "")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
    FIELD_ENCRYPTION_KEYS = [dev_secret(VAR_DIR, "FIELD_ENCRYPTION_KEY", make_fernet_key)]

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_rq",
    "auditlog",  # who changed provider accounts, API tokens, user access (apps/providers/audit.py)
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "apps.providers",
    "apps.sms_templates",
    "apps.messaging",
    "apps.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "auditlog.middleware.AuditlogMiddleware",  # after authentication: records who made each change
    "django_otp.middleware.OTPMiddleware",
    "smsdash.signin.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "smsdash.urls"
WSGI_APPLICATION = "smsdash.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smsdash.context_processors.runtime",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "smsdash.sqlite3"}}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server read while a job writes. IMMEDIATE: a transaction takes the write lock
    # at BEGIN and waits up to `timeout` seconds for it; a deferred one that reads, then writes,
    # fails at once with "database is locked" when another thread wrote meanwhile (overlapping
    # ingest batches on a threaded server: tests/messaging/test_ingest_concurrency.py).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True  # stored in UTC; TIME_ZONE is only how times are displayed
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"

# Sign-in (smsdash/signin/). django-axes: after AXES_FAILURE_LIMIT failed sign-ins of one user from
# one address, that pair is refused (even with the right password) for AXES_COOLOFF_MINUTES, or until
# an administrator deletes the entry under Admin > Axes > Access attempts. Per pair, so a stranger
# guessing a user's password elsewhere cannot lock that user out of their own desk. Addresses are
# REMOTE_ADDR (behind a proxy set AXES_IPWARE_PROXY_COUNT and install django-ipware).
AUTHENTICATION_BACKENDS = ["smsdash.signin.backends.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", "30"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "smsdash.signin.lockout.lockout_response"
# TOTP two-factor (django-otp) for staff: enrol at /admin/two-factor/. When required, a staff session
# not verified by a code reaches nothing in the admin but that page. Off by default for the demo.
ADMIN_2FA_REQUIRED = envbool("ADMIN_2FA_REQUIRED", "false")
OTP_TOTP_ISSUER = "smsdash"
# The admin's TOTP device pages never show a device's key (the second factor itself) once it exists.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Jobs: Redis + django-rq when REDIS_URL is set, otherwise run inline in the caller's process
# (after the transaction commits). See docs/decisions.md, "Jobs without Redis".
REDIS_URL = os.environ.get("REDIS_URL", "")
JOBS_INLINE = not REDIS_URL
RQ_QUEUES = {
    name: {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 600}
    for name in ("default", "reports", "sync")
}
RQ_SHOW_ADMIN_LINK = bool(REDIS_URL)
# The cache holds counters every web process must share (invalid API tokens per address): Redis
# with REDIS_URL, this process's memory otherwise (a single runserver process).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Conversion reporting (apps/messaging/services/reporting.py, apps/providers/breaker.py): retry
# backoff with jitter, when pending work counts as lost, when a worker's claim counts as dead (its
# lease: a live worker renews its claims every third of it, apps/messaging/leases.py).
CONVERSION_REPORTING = {
    "RETRY_BASE_SECONDS": 2,
    "RETRY_CAP_SECONDS": 600,
    "STALE_AFTER_SECONDS": 120,
    "CLAIM_TIMEOUT_SECONDS": 30,
    "THREADS": 4,
}
CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 5, "COOL_DOWN_SECONDS": 30}
# The ingest API refuses bodies above this size (413) before reading them.
API_MAX_BODY_BYTES = 2 * 1024 * 1024
# After API_BAD_TOKEN_LIMIT invalid tokens from one address within API_BAD_TOKEN_WINDOW_SECONDS, further
# invalid tokens from it answer 429 for API_BAD_TOKEN_BLOCK_SECONDS (apps/messaging/api/token_guard.py).
API_BAD_TOKEN_LIMIT = envint("API_BAD_TOKEN_LIMIT", "20")
API_BAD_TOKEN_WINDOW_SECONDS = envint("API_BAD_TOKEN_WINDOW_SECONDS", "60")
API_BAD_TOKEN_BLOCK_SECONDS = envint("API_BAD_TOKEN_BLOCK_SECONDS", "300")
API_BAD_TOKEN_CACHE = "default"
# The input boundary (smsdash/boundary.py): a time entering through the API, a webhook or a form
# must lie between INPUT_EARLIEST_DATE (UTC midnight) and now + INPUT_FUTURE_TOLERANCE_SECONDS
# (senders' clocks run slightly ahead of ours).
INPUT_EARLIEST_DATE = os.environ.get("INPUT_EARLIEST_DATE", "2000-01-01")
INPUT_FUTURE_TOLERANCE_SECONDS = envint("INPUT_FUTURE_TOLERANCE_SECONDS", "300")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "smsdash@localhost")

# The provider simulator of `make run` and the tests (apps/providers/simulator/).
SIMULATOR_PORT = envint("SIMULATOR_PORT", "8025")
# Provider keys go only over https to their provider's own hosts (apps/providers/clients/endpoints.py).
# The demo and the tests run the simulator on 127.0.0.1 and set this, which also admits loopback
# addresses (http or https). Never needed in production.
PROVIDER_ALLOW_LOCAL_ENDPOINTS = envbool("PROVIDER_ALLOW_LOCAL_ENDPOINTS", "false")

# Delivery sync (issue 5): threads per run on PostgreSQL, so its provider calls overlap (SQLite: one).
SYNC_WORKERS = envint("SYNC_WORKERS", "4")

# Dashboard drop alerts (apps/dashboard/alerts.py): a segment's conversion rate this many percent
# below its trailing baseline, with at least DROP_MIN_MESSAGES requested and a z-score of DROP_MIN_Z.
DASHBOARD_DROP_THRESHOLD_PERCENT = envint("DASHBOARD_DROP_THRESHOLD_PERCENT", "25")
DASHBOARD_DROP_MIN_MESSAGES = envint("DASHBOARD_DROP_MIN_MESSAGES", "30")
DASHBOARD_DROP_MIN_Z = envint("DASHBOARD_DROP_MIN_Z", "4")
DASHBOARD_BASELINE_DAYS = envint("DASHBOARD_BASELINE_DAYS", "14")
DASHBOARD_ALERT_EMAILS = envlist("DASHBOARD_ALERT_EMAILS", "")
DASHBOARD_ALERT_WEBHOOK_URL = os.environ.get("DASHBOARD_ALERT_WEBHOOK_URL", "")
# Operational alerts (apps/dashboard/ops_alerts.py), sent through the same e-mail and webhook: no
# worker alive, a pending report older than BACKLOG_MINUTES, a breaker open longer than
# BREAKER_OPEN_MINUTES. A worker silent this long is taken for dead (ResilientWorker beats every 5 s).
OPS_ALERT_BACKLOG_MINUTES = envint("OPS_ALERT_BACKLOG_MINUTES", "10")
OPS_ALERT_BREAKER_OPEN_MINUTES = envint("OPS_ALERT_BREAKER_OPEN_MINUTES", "5")
OPS_WORKER_SILENT_SECONDS = envint("OPS_WORKER_SILENT_SECONDS", "30")
# CSV exports larger than this run as a background job instead of streaming in the request.
DASHBOARD_EXPORT_STREAM_LIMIT = envint("DASHBOARD_EXPORT_STREAM_LIMIT", "1000000")
DASHBOARD_EXPORT_DIR = Path(os.environ.get("DASHBOARD_EXPORT_DIR", VAR_DIR / "exports"))

# Deployment hardening: what `manage.py check --deploy` asks for, on whenever DEBUG is off.
# X-Forwarded-Proto says the request came over https only when a proxy in front sets it and strips
# the client's own: trusted without such a proxy, any client could skip the https redirect.
TRUST_X_FORWARDED_PROTO = envbool("TRUST_X_FORWARDED_PROTO", "false")
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy on every response (django-csp): scripts, styles, images and fetches from
# this site only, so no inline script or style runs; Chart.js is served from static/ like the rest.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Webhook URL tokens are redacted from every record (smsdash/logging_filters.py): on the handlers, and
# on the loggers that log request paths, so that any handler attached to them (a test's caplog too)
# gets the redacted text. Django's records reach the root handler instead of Django's own console and
# mail_admins handlers (unused: no ADMINS), which would print them unredacted.
_REDACT = ["webhook_tokens"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"webhook_tokens": {"()": "smsdash.logging_filters.RedactWebhookTokens"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": _REDACT},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": _REDACT},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": _REDACT},
        "django.security.csrf": {"filters": _REDACT},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False, "filters": _REDACT},
    },
}
