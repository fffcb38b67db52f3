"""smsdash.queue.enqueue: typed options under rq's names, and Redis being away after the commit."""

from __future__ import annotations

import inspect
import logging
from datetime import timedelta

import pytest
import redis.exceptions
from django.db import transaction
from rq import Queue, Retry

from apps.messaging.models import Conversion
from apps.messaging.services import api_token_create
from apps.messaging.services.reporting import conversions_sweep
from apps.providers.models import Provider
from smsdash.queue import RQ_OPTIONS, UNQUEUED_LOG, enqueue
from tests.factories import make_account, make_message
from tests.messaging.conftest import ApiClient
from tests.queue_fixtures import closed_port, redis_down  # noqa: F401


def noted(*args) -> None:
    """A job for rq to store; no worker runs it here."""


def test_every_option_is_a_parameter_of_the_installed_rqs_enqueue_call():
    accepted = inspect.signature(Queue.enqueue_call).parameters
    assert {rq_name for rq_name in RQ_OPTIONS.values() if rq_name not in accepted} == set()
    ours = inspect.signature(enqueue).parameters
    assert set(RQ_OPTIONS) <= set(ours)


def test_an_unknown_option_fails_where_enqueue_is_called():
    with pytest.raises(TypeError, match="timeout"):
        enqueue(noted, 1, timeout=60)  # rq's name, not ours: refused before anything is deferred


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("job_timeout", "6h", "enqueue() option job_timeout must be int, not str"),
        ("job_timeout", True, "enqueue() option job_timeout must be int, not bool"),
        ("job_id", 42, "enqueue() option job_id must be str, not int"),
        ("retry", 3, "enqueue() option retry must be Retry, not int"),
    ],
)
def test_a_mistyped_option_fails_where_enqueue_is_called(option, value, message):
    with pytest.raises(TypeError) as raised:
        enqueue(noted, 1, **{option: value})
    assert str(raised.value) == message


@pytest.mark.redis
@pytest.mark.django_db
def test_the_options_reach_rq_under_its_own_names(jobs_on_redis, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(noted, 7, [8, 9], job_id="noted-7", job_timeout=6 * 3600, retry=Retry(max=2, interval=5))
    job = Queue("default", connection=jobs_on_redis).fetch_job("noted-7")
    assert (job.args, job.timeout, job.retries_left, job.retry_intervals) == ((7, [8, 9]), 6 * 3600, 2, [5])


@pytest.mark.usefixtures("redis_down")
@pytest.mark.django_db(transaction=True)
def test_redis_down_at_commit_is_logged_with_the_job_and_told_to_the_caller(caplog):
    heard = []
    with caplog.at_level(logging.ERROR, logger="smsdash.queue"):
        with transaction.atomic():
            enqueue(noted, 7, list(range(1, 61)), job_id="noted-7", on_unavailable=heard.append)
    assert [type(exc) for exc in heard] == [redis.exceptions.ConnectionError]
    [record] = [r for r in caplog.records if r.msg == UNQUEUED_LOG]
    name, args, queue, _error = record.args
    assert (name, queue) == ("tests.test_queue.noted", "default")
    assert args == "7, [" + ", ".join(map(str, range(1, 51))) + ", ... 60 in all]"


@pytest.mark.usefixtures("redis_down")
@pytest.mark.django_db(transaction=True)
def test_a_conversion_batch_with_redis_down_is_stored_answered_and_swept(client, settings):
    account = make_account(Provider.PLIVO)
    messages = [make_message(account, phone=f"+1212555{i:04d}", provider_message_id=f"r{i}") for i in range(60)]
    api = ApiClient(client, api_token_create(account=account, name="login service")[1])
    items = {"items": [{"message_id": m.provider_message_id, "status": "converted"} for m in messages]}

    first = api.post("conversions", items)
    assert first.status_code == 200 and first.json()["created"] == 60
    retry = api.post("conversions", items)  # the client repeats it anyway: counted once, as duplicates
    assert retry.status_code == 200 and retry.json()["duplicates"] == 60
    assert sorted(Conversion.objects.values_list("duplicate_submissions", flat=True)) == [1] * 60

    later = Conversion.objects.latest("created_at").created_at
    stale = settings.CONVERSION_REPORTING["STALE_AFTER_SECONDS"]
    swept = conversions_sweep(now=later + timedelta(seconds=stale + 1))
    assert sorted(swept[account.pk]) == sorted(Conversion.objects.values_list("pk", flat=True))
