"""Overlapping submissions on a threaded server: gunicorn gthread (3 workers x 8 threads) serving the
ingest API from the test database (shared_database: committed rows that gunicorn's processes see).

Fifty batches start together, each a shuffled sample of 100 ids out of the same 150, so each id is
submitted about 33 times at once, in a different order in every batch. Each id must be stored
once, every batch answered 200 (never a 500 from a unique violation or a deadlock), the created
and duplicate counts must add up to what was submitted, and every answer must point at the row
stored for its id.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.messaging.models import Conversion, SentMessage
from apps.messaging.services import MessageInput, api_token_create, messages_record_batch
from apps.providers.models import Provider
from tests.factories import make_account
from tests.messaging.web_server import Gunicorn, Run, post_all

IDS, PER_BATCH, BATCHES = 150, 100, 50
REPEATS = BATCHES * PER_BATCH - IDS


@pytest.fixture
def server(shared_database, tmp_path):
    with Gunicorn(shared_database, log=tmp_path / "gunicorn.log", workers=3, threads=8) as running:
        yield running


@pytest.fixture
def plivo(shared_database):
    """An account and its API token. Its messages are sent with trackable=false, so their
    conversions are stored as not reportable: no report job runs in the server's threads."""
    account = make_account(Provider.PLIVO)
    return account, api_token_create(account=account, name="login service")[1]


def message_ids(count: int = IDS) -> list[str]:
    return [f"uuid-{n:03d}" for n in range(count)]


def overlapping_batches() -> list[list[str]]:
    rng = random.Random(19)
    return [rng.sample(message_ids(), PER_BATCH) for _ in range(BATCHES)]


def a_message(message_id: str) -> dict:
    sent_at = (timezone.now() - timedelta(minutes=5)).isoformat()
    return {"message_id": message_id, "phone": f"+447700900{message_id[-3:]}", "sent_at": sent_at, "trackable": False}


def a_conversion(message_id: str) -> dict:
    return {"message_id": message_id, "status": "converted"}


def store_messages(account) -> None:
    sent_at = timezone.now() - timedelta(minutes=5)
    items = [MessageInput(i, f"+447700900{i[-3:]}", sent_at, trackable=False) for i in message_ids()]
    messages_record_batch(account=account, items=items)


def statuses(run: Run, what: str) -> list[int]:
    print(f"{what}: {dict(Counter(r.status_code for r in run.responses))} in {run.seconds:.1f} s")
    return [response.status_code for response in run.responses]


def answered_ids(batches: list[list[str]], run: Run) -> set[tuple[str, int]]:
    """(submitted id, answered row id) of every item of every batch."""
    answers = zip(batches, (r.json()["items"] for r in run.responses), strict=True)
    return {(batch[item["index"]], item["id"]) for batch, items in answers for item in items}


def totals(run: Run) -> tuple[int, int]:
    answers = [response.json() for response in run.responses]
    return sum(a["created"] for a in answers), sum(a["duplicates"] for a in answers)


def test_fifty_overlapping_message_batches_answer_200_and_store_each_id_once(server, plivo):
    account, token = plivo
    batches = overlapping_batches()
    run = post_all(server, token, "messages", [{"items": [a_message(i) for i in batch]} for batch in batches])
    assert statuses(run, "message batches") == [200] * BATCHES, server.output()[-3000:]
    stored = dict(SentMessage.objects.filter(account=account).values_list("provider_message_id", "id"))
    assert sorted(stored) == message_ids()
    assert totals(run) == (IDS, REPEATS)
    assert answered_ids(batches, run) == set(stored.items())


def test_fifty_overlapping_conversion_batches_answer_200_store_each_once_and_count_every_repeat(server, plivo):
    account, token = plivo
    store_messages(account)
    batches = overlapping_batches()
    run = post_all(server, token, "conversions", [{"items": [a_conversion(i) for i in batch]} for batch in batches])
    assert statuses(run, "conversion batches") == [200] * BATCHES, server.output()[-3000:]
    conversions = Conversion.objects.filter(message__account=account)
    stored = dict(conversions.values_list("message__provider_message_id", "id"))
    assert sorted(stored) == message_ids()
    assert totals(run) == (IDS, REPEATS)
    assert conversions.aggregate(n=Sum("duplicate_submissions"))["n"] == REPEATS
    assert answered_ids(batches, run) == set(stored.items())


def test_fifty_simultaneous_single_conversions_of_five_messages_create_five_and_answer_the_rest_duplicate(
    server, plivo
):
    account, token = plivo
    store_messages(account)
    ids = [message_id for message_id in message_ids(5) for _ in range(10)]
    random.Random(19).shuffle(ids)
    run = post_all(server, token, "conversions", [a_conversion(i) for i in ids])
    assert sorted(statuses(run, "single conversions")) == [200] * 45 + [201] * 5, server.output()[-3000:]
    conversions = Conversion.objects.filter(message__account=account)
    stored = dict(conversions.values_list("message__provider_message_id", "id"))
    assert sorted(stored) == message_ids(5)
    assert {(i, r.json()["id"]) for i, r in zip(ids, run.responses, strict=True)} == set(stored.items())
    assert conversions.aggregate(n=Sum("duplicate_submissions"))["n"] == 45
