"""The token in an Alibaba or Tencent receipt URL never reaches a log: not Django's warnings about a
refused callback (a wrong token, an unknown account, a bad body, a wrong method), not gunicorn's
access log of the production command (smsdash/gunicorn_conf.py), not a traceback."""

from __future__ import annotations

import logging
import sys

import pytest
import requests

from apps.messaging.delivery import webhooks
from apps.providers.models import Provider
from smsdash.logging_filters import REDACTED, RedactWebhookTokens, redact
from tests.factories import make_account
from tests.messaging.web_server import STALL_SECONDS, Gunicorn
from tests.messaging.webhook_requests import post_json
from tests.progress import wait_for_progress

ROUTE = {Provider.ALIYUN: "/webhooks/aliyun/report", Provider.TENCENT: "/webhooks/tencent/status"}
GUESSED = "0123456789abcdef0123456789abcdef"


def django_request_log(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records if record.name == "django.request")


@pytest.mark.django_db
@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT])
def test_a_callback_with_a_wrong_token_is_logged_without_the_token(client, caplog, provider):
    account = make_account(provider)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(f"{ROUTE[provider]}/{account.pk}/{GUESSED}", "[]", content_type="application/json")
    assert response.status_code == 404
    logged = django_request_log(caplog)
    assert f"Not Found: {ROUTE[provider]}/{account.pk}/{REDACTED}" in logged
    assert GUESSED not in logged and GUESSED not in caplog.text


@pytest.mark.django_db
def test_a_callback_for_an_unknown_account_is_logged_without_the_token(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(f"/webhooks/aliyun/report/999999/{GUESSED}", "[]", content_type="application/json")
    assert response.status_code == 404
    assert "Not Found: /webhooks/aliyun/report/999999/[redacted]" in django_request_log(caplog)
    assert GUESSED not in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT])
def test_a_bad_body_on_the_right_url_is_logged_without_the_token(client, caplog, provider):
    account = make_account(provider)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = post_json(client, account, b"{not json")
    assert response.status_code == 400
    assert f"Bad Request: {ROUTE[provider]}/{account.pk}/{REDACTED}" in django_request_log(caplog)
    assert webhooks.webhook_token(account) not in caplog.text


@pytest.mark.django_db
def test_a_wrong_method_on_the_right_url_is_logged_without_the_token(client, caplog):
    account = make_account(Provider.ALIYUN)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(webhooks.webhook_path(account))
    assert response.status_code == 405
    assert f"Method Not Allowed (GET): /webhooks/aliyun/report/{account.pk}/{REDACTED}" in django_request_log(caplog)
    assert webhooks.webhook_token(account) not in caplog.text


def test_any_record_naming_a_webhook_url_in_its_arguments_or_traceback_is_redacted():
    path = f"/webhooks/tencent/status/7/{GUESSED}"
    try:
        raise ValueError(f"cannot route {path}")
    except ValueError:
        record = logging.LogRecord(
            "apps.any", logging.ERROR, __file__, 1, "callback %s failed", (path,), sys.exc_info()
        )
    assert RedactWebhookTokens().filter(record) is True  # redacted, never dropped
    printed = logging.Formatter().format(record)
    assert GUESSED not in printed
    assert f"callback /webhooks/tencent/status/7/{REDACTED} failed" in printed
    assert f"cannot route /webhooks/tencent/status/7/{REDACTED}" in printed


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            '"POST /webhooks/aliyun/report/2/abc HTTP/1.1" 200',
            '"POST /webhooks/aliyun/report/2/[redacted] HTTP/1.1" 200',
        ),
        ("/WEBHOOKS/Tencent/status/2/abc?x=1", "/WEBHOOKS/Tencent/status/2/[redacted]"),
        ("/webhooks%2Faliyun%2Freport%2F2%2Fabc", "/webhooks%2Faliyun%2Freport%2F2%2F[redacted]"),
        ("/webhooks/aliyun/report/abc", "/webhooks/aliyun/report/[redacted]"),  # no id: the token may sit there
        ("/webhooks/aliyun/report/2/abc/more", "/webhooks/aliyun/report/2/[redacted]"),
        ('"POST /webhooks/plivo/status/2 HTTP/1.1" 200', '"POST /webhooks/plivo/status/2 HTTP/1.1" 200'),
        ("GET /admin/ 200", "GET /admin/ 200"),
    ],
)
def test_redaction_keeps_the_account_id_and_drops_what_follows(line, expected):
    assert redact(line) == expected


def test_every_log_handler_django_configures_redacts():
    def configured(name: str) -> list[logging.Handler]:  # pytest adds capturing handlers of its own
        return [h for h in logging.getLogger(name).handlers if type(h) is logging.StreamHandler]

    root_handlers, server_handlers = configured(""), configured("django.server")
    for handler in root_handlers + server_handlers:
        assert any(isinstance(f, RedactWebhookTokens) for f in handler.filters), handler
    assert root_handlers and server_handlers


@pytest.fixture
def production_server(shared_database, tmp_path):
    """gunicorn started as the README's production command does: with smsdash/gunicorn_conf.py."""
    log = tmp_path / "gunicorn.log"
    with Gunicorn(shared_database, log=log, workers=1, threads=2, options=("-c", "smsdash/gunicorn_conf.py")) as server:
        yield server


def test_gunicorns_access_log_and_djangos_warnings_carry_no_token(production_server, shared_database):
    aliyun, tencent = make_account(Provider.ALIYUN), make_account(Provider.TENCENT)
    url = production_server.url
    sent = [
        requests.post(f"{url}{webhooks.webhook_path(aliyun)}", json=[], timeout=STALL_SECONDS),  # the provider's own
        requests.post(f"{url}{ROUTE[Provider.ALIYUN]}/{aliyun.pk}/{GUESSED}", json=[], timeout=STALL_SECONDS),
        requests.post(f"{url}{ROUTE[Provider.ALIYUN]}/999999/{GUESSED}", json=[], timeout=STALL_SECONDS),
        requests.post(f"{url}{webhooks.webhook_path(tencent)}", data=b"{not json", timeout=STALL_SECONDS),
        requests.get(f"{url}{webhooks.webhook_path(tencent)}", timeout=STALL_SECONDS),
    ]
    assert [r.status_code for r in sent] == [200, 404, 404, 400, 405]

    def access_lines() -> int:
        return production_server.output().count(" /webhooks/")

    # Each request gives one access line; the refused ones also one Django warning.
    wait_for_progress(access_lines, lambda n: n >= 9, what="log lines", details=production_server.output)
    log = production_server.output()
    for secret in (webhooks.webhook_token(aliyun), webhooks.webhook_token(tencent), GUESSED):
        assert secret not in log
    assert f'"POST /webhooks/aliyun/report/{aliyun.pk}/{REDACTED} HTTP/1.1" 200' in log
    assert f"Bad Request: /webhooks/tencent/status/{tencent.pk}/{REDACTED}" in log
    assert log.count(REDACTED) >= 9
