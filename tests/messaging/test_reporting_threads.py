"""A report job on several threads, as rq workers run it, against the simulator over HTTP.

The rows are committed (a transactional test) so that the threads' own connections see them.
"""

from __future__ import annotations

import threading

import pytest
from django.db.backends.signals import connection_created

from apps.messaging.models import Conversion, ReportState
from apps.messaging.services import conversions_report
from apps.messaging.services.reporting import CHUNK, PARKED
from apps.providers import breaker as breakers
from apps.providers.models import Provider
from tests.messaging.reporting_helpers import convert, sent_messages, simulator_counts

THREADS = 4


@pytest.fixture(autouse=True)
def four_threads(settings, shared_database):
    settings.JOBS_INLINE = True  # breaker state in this process
    settings.CONVERSION_REPORTING = {**settings.CONVERSION_REPORTING, "THREADS": THREADS}
    breakers._LocalStore.states.clear()
    breakers._LocalStore.transitions.clear()


@pytest.fixture
def connections_opened():
    """Database connections opened by threads other than the test's own."""
    opened, main = [], threading.get_ident()

    def count(sender, connection, **kwargs):
        if threading.get_ident() != main:
            opened.append(connection.alias)

    connection_created.connect(count, weak=False)
    yield opened
    connection_created.disconnect(count)


def test_a_job_of_many_chunks_reports_each_conversion_once_on_one_connection_per_thread(
    simulator, simulated_account, connections_opened
):
    account = simulated_account(Provider.TENCENT)
    conversions = convert(sent_messages(simulator, account, 10 * CHUNK))

    run = conversions_report(account_id=account.pk, conversion_ids=[c.pk for c in conversions])

    assert run.reported == 10 * CHUNK
    assert set(Conversion.objects.values_list("report_state", flat=True)) == {ReportState.REPORTED}
    assert simulator_counts(simulator, conversions) == [1] * len(conversions)
    # A thread keeps its database connection from chunk to chunk: a new one per chunk cost
    # PostgreSQL a backend start every 20 reports (about half of its CPU per report, bench/ingest).
    assert len(connections_opened) <= THREADS


def test_when_the_breaker_opens_the_threads_park_every_chunk_not_yet_started(simulator, simulated_account, settings):
    settings.CIRCUIT_BREAKER = {"FAILURE_THRESHOLD": 3, "COOL_DOWN_SECONDS": 30}
    account = simulated_account(Provider.TENCENT)
    conversions = convert(sent_messages(simulator, account, 10 * CHUNK))
    simulator.set_faults(provider="tencent", outage=True)

    run = conversions_report(account_id=account.pk, conversion_ids=[c.pk for c in conversions])

    calls = simulator.stats()["requests"]["tencent"]["ReportConversion"]
    assert calls <= 3 + THREADS  # the threshold, and at most one call in flight on each other thread
    assert run.reported == 0 and run.parked + len(run.retries) == len(conversions)
    assert run.resume_at is not None
    rows = Conversion.objects.all()
    assert all(row.report_state == ReportState.PENDING and row.claim_token == "" for row in rows)
    assert rows.filter(last_error=PARKED).count() == run.parked >= len(conversions) - calls
