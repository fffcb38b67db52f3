"""An account's keys go only over https to its provider's own hosts (loopback where the deployment
allows local endpoints), whether the endpoint comes through the admin form or was stored before."""

from __future__ import annotations

import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.messaging import jobs
from apps.messaging.models import ReportState
from apps.providers import breaker as breakers
from apps.providers.clients import endpoints
from apps.providers.clients.base import DeliveryQuery, ProviderError
from apps.providers.clients.registry import CLIENTS, client_for
from apps.providers.forms import SECRET_AGAIN, ProviderAccountForm
from apps.providers.models import Provider, ProviderAccount
from apps.providers.simulator import defaults
from tests.conftest import PASSWORD
from tests.factories import make_account
from tests.messaging.reporting_helpers import convert, sent_messages

pytestmark = pytest.mark.django_db

PLIVO_TOKEN = defaults.DEMO_PLIVO_AUTH[1]


class Collector:
    """A local HTTP server standing for the host an attacker points an account at: it records every
    connection and request (with its Authorization header) before answering."""

    def __init__(self):
        self.connections: list[str] = []
        self.requests: list[tuple[str, str, str]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                collector.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def get_request(self):
                pair = super().get_request()
                collector.connections.append(pair[1][0])
                return pair

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def seen(self) -> list:
        return self.connections + self.requests


@pytest.fixture
def collector():
    server = Collector()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def inline_reports(settings):
    settings.JOBS_INLINE = True
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "THREADS": 1}
    breakers._LocalStore.states.clear()
    breakers._LocalStore.transitions.clear()


def form_data(account: ProviderAccount, **changes) -> dict:
    """What the change form posts for this account as it is, secret left empty, with `changes`."""
    form = ProviderAccountForm(instance=account)
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is True:
            data[name] = "on"
        elif value is not False and value is not None:
            data[name] = value
    data["key_secret"] = ""
    data.update(changes)
    return data


def post_change(client, account: ProviderAccount, **changes):
    client.login(username="root", password=PASSWORD)
    url = reverse("admin:providers_provideraccount_change", args=[account.pk])
    return client.post(url, form_data(account, **changes))


def form_errors(response) -> dict:
    assert response.status_code == 200, response.status_code
    return response.context["adminform"].form.errors


def report_one(simulator, account):
    (message,) = sent_messages(simulator, account, 1)
    (conversion,) = convert([message])
    jobs.report_conversions(account.pk, [conversion.pk])
    conversion.refresh_from_db()
    return message, conversion


def test_an_endpoint_moved_elsewhere_with_the_secret_left_empty_is_refused_and_the_token_stays_home(
    client, root, simulator, simulated_account, collector, inline_reports
):
    account = simulated_account(Provider.PLIVO)
    response = post_change(client, account, endpoint=collector.url)
    assert form_errors(response) == {"key_secret": [SECRET_AGAIN]}
    account.refresh_from_db()
    assert account.endpoint == simulator.url and account.key_secret == PLIVO_TOKEN

    message, conversion = report_one(simulator, account)
    assert conversion.report_state == ReportState.REPORTED, conversion.last_error
    assert simulator.conversions(message.provider_message_id) == 1
    assert collector.seen() == []


@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT, Provider.PLIVO])
def test_an_endpoint_stored_before_the_rule_gets_no_request_from_a_production_deployment(
    provider, settings, simulator, simulated_account, collector, inline_reports
):
    account = simulated_account(provider)
    ProviderAccount.objects.filter(pk=account.pk).update(endpoint=collector.url)  # as stored before the rule
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = False
    account.refresh_from_db()

    _, conversion = report_one(simulator, account)
    assert conversion.report_state != ReportState.REPORTED
    assert endpoints.LOCAL_REFUSED.format(host="127.0.0.1") in conversion.last_error
    assert collector.seen() == []


@pytest.mark.parametrize(
    "provider, endpoint",
    [
        (Provider.ALIYUN, "https://dysmsapi.oss-cn-hangzhou.aliyuncs.com"),  # a storage bucket's name
        (Provider.TENCENT, "https://sms.tencentcloudapi.com.collector.example"),
        (Provider.PLIVO, "https://api.plivo.com@collector.example"),
    ],
)
def test_a_stored_endpoint_outside_the_providers_hosts_is_refused_before_any_connection(provider, endpoint):
    account = make_account(provider)
    ProviderAccount.objects.filter(pk=account.pk).update(endpoint=endpoint)
    account.refresh_from_db()
    with pytest.raises(ProviderError) as refused:
        client_for(account).delivery_status(DeliveryQuery(phone="+14155552222", day=date(2025, 1, 2)))
    assert refused.value.code == "EndpointRefused"
    assert CLIENTS[provider].endpoint_refusal(endpoint) in refused.value.message


def refusal(provider: str, endpoint: str) -> dict:
    account = ProviderAccount(name="Checked", **{**ACCOUNT[provider], "endpoint": endpoint})
    try:
        account.full_clean()
    except ValidationError as error:
        return error.message_dict
    return {}


ACCOUNT = {
    Provider.ALIYUN: dict(provider="aliyun", key_id="LTAI", key_secret="s", region="cn-hangzhou"),
    Provider.TENCENT: dict(
        provider="tencent", key_id="AKID", key_secret="s", region="ap-guangzhou", sdk_app_id="1400000009"
    ),
    Provider.PLIVO: dict(provider="plivo", key_id="MATESTACCOUNT0000001", key_secret="s"),
}  # fmt: skip
PLIVO_HOSTS = "api.plivo.com"


@pytest.mark.parametrize(
    "provider, endpoint, message",
    [
        (Provider.PLIVO, "https://collector.example", endpoints.NOT_PROVIDER_HOST.format(
            host="collector.example", provider="Plivo", hosts=PLIVO_HOSTS)),
        (Provider.PLIVO, "http://api.plivo.com", endpoints.NOT_HTTPS.format(scheme="http://")),
        (Provider.PLIVO, "https://api.plivo.com.collector.example", endpoints.NOT_PROVIDER_HOST.format(
            host="api.plivo.com.collector.example", provider="Plivo", hosts=PLIVO_HOSTS)),
        (Provider.PLIVO, "http://127.0.0.1:8025", endpoints.LOCAL_REFUSED.format(host="127.0.0.1")),
        (Provider.PLIVO, "https://localhost", endpoints.LOCAL_REFUSED.format(host="localhost")),
        (Provider.PLIVO, "http://[::1]:8025", endpoints.LOCAL_REFUSED.format(host="::1")),
        (Provider.ALIYUN, "https://api.plivo.com", endpoints.NOT_PROVIDER_HOST.format(
            host="api.plivo.com", provider="Alibaba Cloud", hosts=", ".join(sorted(CLIENTS["aliyun"].endpoint_hosts)))),
        (Provider.ALIYUN, "http://169.254.169.254/latest/meta-data", endpoints.NOT_HTTPS.format(scheme="http://")),
        (Provider.TENCENT, "https://sms.evil.tencentcloudapi.com.example", endpoints.NOT_PROVIDER_HOST.format(
            host="sms.evil.tencentcloudapi.com.example", provider="Tencent Cloud",
            hosts=", ".join(sorted(CLIENTS["tencent"].endpoint_hosts)))),
    ],
)  # fmt: skip
def test_an_endpoint_is_refused_unless_https_on_a_host_of_the_provider(provider, endpoint, message, settings):
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = False
    assert refusal(provider, endpoint) == {"endpoint": [message]}


@pytest.mark.parametrize(
    "provider, host", [(provider, host) for provider, client in CLIENTS.items() for host in client.endpoint_hosts]
)
def test_every_documented_host_of_the_provider_is_accepted(provider, host, settings):
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = False
    assert refusal(provider, f"https://{host}") == {}


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8025", "https://localhost:8443", "http://[::1]:8025"])
def test_a_local_endpoint_is_accepted_where_the_deployment_allows_it(endpoint, settings):
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = True
    assert refusal(Provider.PLIVO, endpoint) == {}


def test_a_local_allowance_still_refuses_other_hosts(settings):
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = True
    assert refusal(Provider.PLIVO, "http://10.0.0.5:8025") == {
        "endpoint": [endpoints.NOT_HTTPS.format(scheme="http://")]
    }


def test_changing_the_provider_without_the_secret_is_refused(client, root):
    account = make_account(Provider.TENCENT, key_secret="tencent-secret-kept")
    response = post_change(client, account, provider="aliyun", sdk_app_id="", region="cn-hangzhou")
    assert form_errors(response)["key_secret"] == [SECRET_AGAIN]
    account.refresh_from_db()
    assert account.provider == Provider.TENCENT


def test_changing_the_endpoint_with_the_secret_entered_again_is_saved(client, root, settings):
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = False
    account = make_account(Provider.ALIYUN)
    endpoint = "https://dysmsapi.ap-southeast-1.aliyuncs.com"
    response = post_change(client, account, endpoint=endpoint, key_secret="aliyun-secret-entered-again")
    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert account.endpoint == endpoint and account.key_secret == "aliyun-secret-entered-again"


def test_the_admin_form_names_the_endpoint_rule(client, root, settings):
    settings.PROVIDER_ALLOW_LOCAL_ENDPOINTS = False
    account = make_account(Provider.PLIVO)
    response = post_change(client, account, endpoint="http://127.0.0.1:9", key_secret="plivo-test-token")
    assert form_errors(response) == {"endpoint": [endpoints.LOCAL_REFUSED.format(host="127.0.0.1")]}
    account.refresh_from_db()
    assert account.endpoint == ""
