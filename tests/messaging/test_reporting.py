"""Reporting conversions to the simulated providers over HTTP, jobs inline (no Redis)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from apps.messaging import jobs
from apps.messaging.models import Conversion, ReportState
from apps.messaging.services import conversion_resend, conversions_report, conversions_sweep, preconditions
from apps.messaging.services.reporting import PARKED, backoff_seconds
from apps.providers import breaker as breakers
from apps.providers.models import Provider
from tests.messaging.conftest import ApiClient
from tests.messaging.reporting_helpers import convert, sent_messages, simulator_counts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def inline_jobs(settings):
    settings.JOBS_INLINE = True
    settings.CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 3, "COOL_DOWN_SECONDS": 0.3}
    # One thread: report threads have their own connections, which cannot see this test's transaction.
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "RETRY_BASE_SECONDS": 0.1, "THREADS": 1}
    breakers._LocalStore.states.clear()
    breakers._LocalStore.transitions.clear()


def report(conversions) -> dict:
    return jobs.report_conversions(conversions[0].message.account_id, [c.pk for c in conversions])


@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT, Provider.PLIVO])
def test_a_conversion_posted_to_the_api_is_reported_to_its_provider(
    provider, simulator, simulated_account, client, django_capture_on_commit_callbacks
):
    from apps.messaging.services import api_token_create

    account = simulated_account(provider)
    (message,) = sent_messages(simulator, account, 1)
    api = ApiClient(client, api_token_create(account=account, name="app")[1])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("conversions", {"message_id": message.provider_message_id, "status": "converted"})
    assert response.status_code == 201
    conversion = Conversion.objects.get()
    assert conversion.report_state == ReportState.REPORTED, conversion.last_error
    assert conversion.provider_request_id and conversion.report_attempts == 1
    assert simulator.conversions(message.provider_message_id) == 1


@pytest.mark.parametrize("provider", [Provider.ALIYUN, Provider.TENCENT, Provider.PLIVO])
def test_the_provider_receives_the_recorded_conversion_time_whatever_the_servers_time_zone(
    provider, simulator, simulated_account, settings
):
    settings.TIME_ZONE = "Asia/Shanghai"  # a naive datetime read back would be taken as 8 hours off
    account = simulated_account(provider)
    (conversion,) = convert(sent_messages(simulator, account, 1))
    report([conversion])
    assert Conversion.objects.get().report_state == ReportState.REPORTED
    received = simulator.stats()["last_conversion"][conversion.message.provider_message_id]["time"]
    assert abs(datetime.fromisoformat(received) - conversion.converted_at) < timedelta(seconds=1)


def test_an_authentication_error_fails_without_retry_and_is_resent_after_the_fix(
    simulator, simulated_account, django_capture_on_commit_callbacks
):
    account = simulated_account(Provider.PLIVO, key_secret="wrong-token")
    conversions = convert(sent_messages(simulator, account, 1))
    report(conversions)
    failed = Conversion.objects.get()
    assert failed.report_state == ReportState.FAILED
    assert failed.last_error.startswith("auth: ") and failed.next_attempt_at is None
    account.key_secret = "smsdash-demo-plivo-token"
    account.save()
    with django_capture_on_commit_callbacks(execute=True):
        conversion_resend(conversion=failed)
    assert Conversion.objects.get().report_state == ReportState.REPORTED
    assert simulator_counts(simulator, conversions) == [1]


def test_an_invalid_request_fails_with_the_providers_message(simulator, simulated_account):
    account = simulated_account(Provider.ALIYUN)
    conversions = convert(sent_messages(simulator, account, 1))
    simulator.state.messages.clear()  # the provider no longer knows the message id
    report(conversions)
    failed = Conversion.objects.get()
    assert failed.report_state == ReportState.FAILED
    assert failed.last_error.startswith("invalid: ") and "does not exist" in failed.last_error


def test_a_transient_error_is_retried_later_with_growing_jittered_delays(simulator, simulated_account):
    account = simulated_account(Provider.TENCENT)
    conversions = convert(sent_messages(simulator, account, 1))
    simulator.set_faults(provider="tencent", error_rate=1.0)
    before = timezone.now()
    assert report(conversions)["retries"] == 1
    pending = Conversion.objects.get()
    assert pending.report_state == ReportState.PENDING and pending.report_attempts == 1
    assert pending.last_error.startswith("transient: ")
    assert before + timedelta(seconds=0.05) <= pending.next_attempt_at <= before + timedelta(seconds=1)
    delays = [backoff_seconds(attempt) for attempt in (1, 2, 3, 4)]  # base 0.1 s in these tests
    assert [0.05 <= delays[0] <= 0.1, 0.1 <= delays[1] <= 0.2, 0.2 <= delays[2] <= 0.4, 0.4 <= delays[3] <= 0.8] == [
        True
    ] * 4
    assert len({round(backoff_seconds(5), 6) for _ in range(20)}) > 1  # jitter: retries spread out


def test_a_refused_report_is_logged_with_the_provider_message_id_and_what_happens_next(
    simulator, simulated_account, caplog
):
    account = simulated_account(Provider.TENCENT)
    conversions = convert(sent_messages(simulator, account, 1))
    simulator.set_faults(provider="tencent", error_rate=1.0)
    with caplog.at_level("WARNING", logger="apps.messaging.services.reporting"):
        report(conversions)
    pending = Conversion.objects.select_related("message").get()
    [line] = [r.getMessage() for r in caplog.records if "answered" in r.getMessage()]
    assert line.startswith(
        f"tencent answered transient for the conversion of provider message id "
        f"{pending.message.provider_message_id} (account {account.name}): "
    )
    assert line.endswith(" s") and "; retry in " in line


def test_preconditions_skip_with_the_reason_before_any_call(simulator, simulated_account):
    tencent = simulated_account(Provider.TENCENT, conversion_allowlisted=False)
    plivo = simulated_account(Provider.PLIVO)
    skipped = convert(sent_messages(simulator, tencent, 1)) + convert(
        sent_messages(simulator, plivo, 1, trackable=False)
    )
    for conversion in skipped:
        report([conversion])
    reasons = dict(Conversion.objects.values_list("message__account__provider", "last_error"))
    assert reasons == {"tencent": preconditions.TENCENT_NOT_ALLOWLISTED, "plivo": preconditions.PLIVO_NOT_TRACKABLE}
    assert set(Conversion.objects.values_list("report_state", flat=True)) == {ReportState.SKIPPED}
    assert simulator.stats()["conversions"] == {}


def test_the_breaker_opens_parks_the_rest_then_a_probe_drains_the_backlog(simulator, simulated_account):
    account = simulated_account(Provider.PLIVO, report_rate_limit=10_000)
    conversions = convert(sent_messages(simulator, account, 30))
    simulator.set_faults(provider="plivo", outage=True)
    first = report(conversions)
    # Three calls failed (the threshold) and wait for their retry; the breaker parked all the others.
    assert first["retries"] == 3 and 27 <= first["parked"] <= 30
    assert breakers.breaker_for(account).state == breakers.OPEN
    assert Conversion.objects.filter(last_error=PARKED).count() == first["parked"]
    assert simulator.stats()["requests"]["plivo"]["Conversion"] == 3
    requests_during_outage = simulator.stats()["requests"]
    assert report(conversions)["reported"] == 0  # parked until the cool-down: nobody calls the provider
    assert simulator.stats()["requests"] == requests_during_outage
    simulator.clear_faults()
    drained = jobs.drain_account_backlog(account.pk)
    assert drained["reported"] == 0  # the cool-down has not passed yet
    time.sleep(0.35)
    drained = jobs.drain_account_backlog(account.pk)
    assert drained["reported"] == 30
    assert breakers.breaker_for(account).state == breakers.CLOSED
    assert simulator_counts(simulator, conversions) == [1] * 30


def test_a_claimed_conversion_is_not_reported_by_a_second_worker(simulator, simulated_account):
    account = simulated_account(Provider.PLIVO)
    conversions = convert(sent_messages(simulator, account, 3))
    Conversion.objects.filter(pk=conversions[0].pk).update(claim_token="another-worker", claimed_at=timezone.now())
    run = conversions_report(account_id=account.pk, conversion_ids=[c.pk for c in conversions])
    assert run.reported == 2
    assert simulator_counts(simulator, conversions) == [0, 1, 1]
    assert conversions_report(account_id=account.pk, conversion_ids=[c.pk for c in conversions]).reported == 0


def test_the_sweep_frees_a_dead_workers_claims_counts_one_possible_repeat_and_finds_stale_work(simulated_account):
    account = simulated_account(Provider.PLIVO)
    from tests.factories import make_conversion, make_message

    rows = [make_conversion(make_message(account, phone=f"+14155550{n:03d}")) for n in range(4)]
    long_ago = timezone.now() - timedelta(hours=2)
    Conversion.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(claim_token="dead", claimed_at=long_ago)
    Conversion.objects.filter(pk=rows[3].pk).update(report_state=ReportState.REPORTED)
    # The dead claims come back at once; nothing else is overdue yet.
    assert conversions_sweep(now=timezone.now()) == {account.pk: [rows[0].pk, rows[1].pk]}
    found = conversions_sweep(now=timezone.now() + timedelta(minutes=5))
    assert found == {account.pk: [rows[0].pk, rows[1].pk, rows[2].pk]}
    repeats = dict(Conversion.objects.values_list("pk", "repeat_reports"))
    assert (repeats[rows[0].pk], repeats[rows[1].pk], repeats[rows[2].pk]) == (1, 0, 0)
    assert not Conversion.objects.exclude(claim_token="").exists()


def test_every_worker_sees_an_opened_breaker_within_a_tenth_of_a_second(simulated_account):
    account = simulated_account(Provider.TENCENT)
    mine, other = breakers.breaker_for(account), breakers.breaker_for(account)
    assert mine.allow()  # healthy: trusted for breakers.FRESH seconds without asking again
    for _ in range(3):
        other.record_failure()  # another worker meets the outage and opens the breaker
    time.sleep(breakers.FRESH)
    assert not mine.allow()

    other.reset()
    assert mine.allow()
    mine.record_failure()  # a caller's own failure makes it ask again at once
    other.record_failure(), other.record_failure()
    assert not mine.allow()
