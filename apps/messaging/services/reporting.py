"""Reporting conversions to their provider: claim, call, record. Called by apps/messaging/jobs.py.

Exactly once: a worker first claims rows with a conditional UPDATE (only pending, unclaimed, due
rows; healthchecks' sendalerts pattern), so two workers never report the same conversion. A claim
is released when its outcome is recorded. A claim is a lease (apps/messaging/leases.py): renewed
while its process lives, so one not renewed for CLAIM_TIMEOUT_SECONDS belongs to a worker that
died; the sweep releases it and counts a possible repeat on the one row that worker may have sent
before dying. A chunk that fails midway (Redis or the database away) gives its rows back at once,
by the same rule.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F, Q
from django.utils import timezone

from apps.messaging.leases import leases
from apps.messaging.models import Conversion, ReportState, SentMessage
from apps.messaging.services.preconditions import unreportable_reason
from apps.providers import outcomes
from apps.providers.breaker import CircuitBreaker, Outcome, breaker_for
from apps.providers.clients import client_for
from apps.providers.clients.base import ConversionOutcome, ConversionReport, ProviderClient, ProviderError
from apps.providers.models import ProviderAccount
from apps.providers.ratelimit import acquire
from smsdash.queue import enqueue

logger = logging.getLogger(__name__)

CHUNK = 20  # rows claimed at once: a dead worker strands at most this many claims
PARKED = "Waiting: the provider circuit is open after repeated failures; reporting resumes after the cool-down."
UNEXPECTED = "Unexpected error while reporting: {error}"
# Log lines name the account, its provider and the provider's message ids, as operators search them.
PARKED_LOG = "parked %d conversion(s) of account %s (%s) until %s, circuit open: provider message ids %s"
RELEASED_LOG = "released %d conversion(s) of account %s (%s) held by %s: provider message ids %s"
REFUSED_LOG = "%s answered %s for the conversion of provider message id %s (account %s): %s; %s"
REPEAT_LOG = (
    "possible repeat: conversion %s of account %s (%s), provider message id %s, may have been reported twice (%s)"
)
DEAD_WORKER = "a worker that stopped renewing its claim"
ACCOUNT_COLUMNS = ("message__account__name", "message__account__provider")
FAILED_CHUNK = "a chunk that failed midway"


def config(name: str) -> float:
    return float(settings.CONVERSION_REPORTING[name])


@dataclass
class ReportRun:
    """What one call of conversions_report did; the job turns it into follow-up jobs."""

    reported: int = 0
    failed: int = 0
    skipped: int = 0
    parked: int = 0
    retries: list[tuple[int, float]] = field(default_factory=list)  # (conversion id, delay in seconds)
    resume_at: datetime | None = None  # set when the breaker parked work: when to try again
    probe_succeeded: bool = False  # the breaker just closed again: drain the account's backlog


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random, so retries spread out."""
    ceiling = min(config("RETRY_CAP_SECONDS"), config("RETRY_BASE_SECONDS") * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def conversions_report(*, account_id: int, conversion_ids: Sequence[int]) -> ReportRun:
    """Report the given conversions of one account that are still due; skip those already done.

    Chunks run on THREADS threads: each report waits on the provider and on its own commit, and
    overlapping them is what lets one worker keep up with an account's rate. Every thread claims
    its own chunk, so the exactly-once rules hold per chunk as they do per worker.
    """
    account = ProviderAccount.objects.filter(pk=account_id).first()
    if account is None or not conversion_ids:
        return ReportRun()
    ids = list(conversion_ids)
    chunks = _Chunks([ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)])
    threads = min(int(config("THREADS")), len(chunks))
    if threads <= 1:
        return _report_chunks(account, chunks)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return _merge(pool.map(lambda _: _in_thread(account, chunks), range(threads)))


class _Chunks:
    """The chunks of one call, handed out one at a time to whichever thread is free."""

    def __init__(self, chunks: list[list[int]]):
        self._chunks = deque(chunks)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._chunks)

    def take(self) -> list[int] | None:
        with self._lock:
            return self._chunks.popleft() if self._chunks else None

    def take_all(self) -> list[int]:
        with self._lock:
            rest = [pk for chunk in self._chunks for pk in chunk]
            self._chunks.clear()
            return rest


def _in_thread(account: ProviderAccount, chunks: _Chunks) -> ReportRun:
    try:
        return _report_chunks(account, chunks)
    finally:
        # The pool thread's own database connection, closed once it has no chunk left: opening one
        # per chunk cost PostgreSQL a backend start every 20 reports.
        connection.close()


def _report_chunks(account: ProviderAccount, chunks: _Chunks) -> ReportRun:
    run = ReportRun()
    breaker = breaker_for(account)
    client = client_for(account)  # pooled per thread and account by the registry: not closed here
    while (chunk := chunks.take()) is not None:
        if not _report_chunk(account, client, breaker, chunk, run):
            # The breaker opened: park this chunk's unreported rows and every chunk not yet started.
            _park([*chunk, *chunks.take_all()], breaker, run)
            break
    return run


def _merge(runs: Iterable[ReportRun]) -> ReportRun:
    total = ReportRun()
    for run in runs:
        for name in ("reported", "failed", "skipped", "parked"):
            setattr(total, name, getattr(total, name) + getattr(run, name))
        total.retries.extend(run.retries)
        total.probe_succeeded = total.probe_succeeded or run.probe_succeeded
        if run.resume_at and (total.resume_at is None or run.resume_at > total.resume_at):
            total.resume_at = run.resume_at
    return total


@dataclass(slots=True)
class Claimed:
    """What reporting one claimed conversion needs, read as plain values: building two model
    instances per row (conversion and message) was over a third of the claim's CPU (profiled)."""

    pk: int
    status: str
    converted_at: datetime
    report_attempts: int
    message_id: str
    phone: str
    sent_at: datetime
    trackable: bool
    country: str


@dataclass(slots=True)
class Claim:
    """A chunk claimed under one token, and the cursor that records its outcomes."""

    token: str
    rows: list[Claimed]
    cursor: CursorWrapper


def _claim(ids: Sequence[int], now: datetime, cursor: CursorWrapper) -> Claim:
    token = uuid.uuid4().hex
    claim, read = _claim_sql(len(ids))
    moment = connection.ops.adapt_datetimefield_value(now)
    cursor.execute(claim, [token, moment, *ids, ReportState.PENDING, moment])
    cursor.execute(read, [token, *ids])
    rows = [Claimed(pk, st, _aware(conv), att, mid, ph, _aware(sent), bool(tr), co) for
            pk, st, conv, att, mid, ph, sent, tr, co in cursor.fetchall()]  # fmt: skip
    return Claim(token, rows, cursor)


@cache  # per chunk length: building these two queries through the ORM was most of a claim's CPU
def _claim_sql(count: int) -> tuple[str, str]:
    """The conditional UPDATE that claims due, pending, unclaimed rows, and the read of what it claimed."""
    quote, marks = connection.ops.quote_name, ", ".join(["%s"] * count)
    conversion, message = Conversion._meta, SentMessage._meta
    table, messages = quote(conversion.db_table), quote(message.db_table)
    c = {f.name: quote(f.column) for f in conversion.concrete_fields}
    m = {f.name: quote(f.column) for f in message.concrete_fields}
    claim = (
        f"UPDATE {table} SET {c['claim_token']} = %s, {c['claimed_at']} = %s WHERE {c['id']} IN ({marks}) "
        f"AND {c['report_state']} = %s AND {c['claim_token']} = '' "
        f"AND ({c['next_attempt_at']} IS NULL OR {c['next_attempt_at']} <= %s)"
    )
    columns = [f"c.{c[name]}" for name in ("id", "status", "converted_at", "report_attempts")]
    columns += [f"m.{m[name]}" for name in ("provider_message_id", "phone", "sent_at", "trackable", "country")]
    read = (
        f"SELECT {', '.join(columns)} FROM {table} c JOIN {messages} m ON m.{m['id']} = c.{c['message']} "
        f"WHERE c.{c['claim_token']} = %s AND c.{c['id']} IN ({marks}) ORDER BY c.{c['id']}"
    )
    return claim, read


def _aware(moment: datetime) -> datetime:
    # SQLite hands raw queries naive UTC datetimes; PostgreSQL aware ones.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=connection.timezone)


def _report_chunk(account, client: ProviderClient, breaker: CircuitBreaker, ids, run: ReportRun) -> bool:
    """Report one claimed chunk. False when the breaker stopped it (unreported rows released)."""
    with _leased(ids) as claim:  # one cursor records the whole chunk's outcomes; the claim is a lease
        slots = 0
        for position, conversion in enumerate(claim.rows):
            reason = unreportable_reason(
                account=account, status=conversion.status, trackable=conversion.trackable, country=conversion.country
            )
            if reason:
                _finish(conversion, claim, report_state=ReportState.SKIPPED, last_error=reason, attempted=False)
                run.skipped += 1
                continue
            if not breaker.allow():
                _release([c.pk for c in claim.rows[position:]], claim.token)
                return False
            if not slots:  # rate-limit slots in blocks: one Redis round trip per block, not per report
                slots = _acquire_block(account, len(claim.rows) - position)
            slots -= 1
            if _report_one(account, client, breaker, conversion, claim, run) == Outcome.THROTTLED:
                slots = 0  # the next report waits out the rate limit's pause: take slots again
    return True


@contextmanager
def _leased(ids: Sequence[int]) -> Iterator[Claim]:
    """Claim a chunk and hold the claim's lease while it is reported; give it back if reporting fails."""
    token = ""
    try:
        with connection.cursor() as cursor:
            claim = _claim(ids, timezone.now(), cursor)
            token = claim.token
            leases.hold(token)
            yield claim
    except Exception:
        if token:
            _abandon(token)
        raise
    finally:
        leases.drop(token)


def _abandon(token: str) -> None:
    """Give a failed chunk's rows back now rather than when its lease lapses; a cut database
    connection is replaced once, and if that fails too the sweep releases them later."""
    for _ in range(2):
        try:
            held = Conversion.objects.filter(claim_token=token, report_state=ReportState.PENDING)
            claims_release(held, why=FAILED_CHUNK)
            return
        except DatabaseError:
            connection.close()
    logger.warning("could not release claim %s after a failure: the sweep will once its lease lapses", token)


def _acquire_block(account: ProviderAccount, wanted: int) -> int:
    """Take up to `wanted` report slots, at most a fiftieth of the account's rate, so that the
    slots a stopped chunk leaves unused never amount to more than 2% of a second's calls."""
    slots = min(wanted, max(1, account.effective_report_rate // 50))
    acquire(account, "report", slots=slots)
    return slots


def _report_one(account, client: ProviderClient, breaker: CircuitBreaker, conversion: Claimed, claim: Claim, run):
    report = ConversionReport(
        message_id=conversion.message_id,
        phone=conversion.phone,
        outcome=ConversionOutcome(conversion.status),
        converted_at=conversion.converted_at,
        sent_at=conversion.sent_at,
    )
    probing = breaker.probing
    try:
        result = client.report_conversion(report)
    except ProviderError as error:
        outcome = outcomes.record(breaker, account, "report", error)
        run.probe_succeeded = run.probe_succeeded or (probing and outcome == Outcome.SUCCESS)
        _record_error(account, conversion, claim, error, run)
        return outcome
    except Exception as error:  # a bug or an unclassified failure: keep the row, retry later
        logger.exception("reporting conversion %s failed unexpectedly", conversion.pk)
        outcomes.record(breaker, account, "report", error)
        _retry_later(conversion, claim, UNEXPECTED.format(error=error), run)
        return Outcome.OWN_ERROR
    outcomes.record(breaker, account, "report", None)
    run.probe_succeeded = run.probe_succeeded or probing
    _finish(
        conversion,
        claim,
        report_state=ReportState.REPORTED,
        provider_request_id=result.request_id[:128],
        reported_at=timezone.now(),
        last_error="",
    )
    run.reported += 1
    return Outcome.SUCCESS


def _record_error(account, conversion: Claimed, claim: Claim, error: ProviderError, run) -> None:
    # One line per refused report, naming what an operator searches by; an outage is at most
    # FAILURE_THRESHOLD such lines per account before the breaker parks the rest (PARKED_LOG).
    if error.retryable:
        _retry_later(conversion, claim, f"{error.kind}: {error}", run)
        then = f"retry in {run.retries[-1][1]:g} s"
    else:
        _finish(conversion, claim, report_state=ReportState.FAILED, last_error=f"{error.kind}: {error}")
        run.failed += 1
        then = "failed until re-sent from the admin"
    logger.warning(REFUSED_LOG, account.provider, error.kind, conversion.message_id, account.name, error, then)


def _retry_later(conversion: Claimed, claim: Claim, reason: str, run: ReportRun) -> None:
    delay = backoff_seconds(conversion.report_attempts + 1)
    _finish(conversion, claim, last_error=reason, next_attempt_at=timezone.now() + timedelta(seconds=delay))
    run.retries.append((conversion.pk, delay))


def _finish(conversion: Claimed, claim: Claim, *, attempted: bool = True, **fields) -> None:
    """Record an outcome and release the claim, only if the claim is still ours."""
    values = [connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in fields.values()]
    claim.cursor.execute(_finish_sql(tuple(fields), attempted), [*values, conversion.pk, claim.token])


@cache  # per outcome's fields: compiling the ORM's update() for every report was a fifth of its CPU
def _finish_sql(names: tuple[str, ...], attempted: bool) -> str:
    quote, meta = connection.ops.quote_name, Conversion._meta
    column = {name: quote(meta.get_field(name).column) for name in (*names, "report_attempts", "claim_token")}
    sets = [f"{column[name]} = %s" for name in names] + [f"{column['claim_token']} = ''"]
    if attempted:
        sets.append(f"{column['report_attempts']} = {column['report_attempts']} + 1")
    return (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} "
        f"WHERE {quote(meta.pk.column)} = %s AND {column['claim_token']} = %s"
    )


def _release(ids: Sequence[int], token: str) -> None:
    Conversion.objects.filter(pk__in=ids, claim_token=token).update(claim_token="")


def _park(ids: Sequence[int], breaker: CircuitBreaker, run: ReportRun) -> None:
    resume = datetime.fromtimestamp(breaker.retry_at(), tz=timezone.get_current_timezone())
    # Rows already waiting for their own retry keep it (and their error); the rest wait for the probe.
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    rows = Conversion.objects.filter(due, pk__in=ids, report_state=ReportState.PENDING, claim_token="")
    parked = list(rows.values_list("pk", flat=True))
    run.parked += rows.filter(pk__in=parked).update(next_attempt_at=resume, last_error=PARKED)
    run.resume_at = resume
    _log_parked(parked, resume)


def _log_parked(ids: list[int], resume: datetime) -> None:
    rows = Conversion.objects.filter(pk__in=ids).order_by("pk")
    by_account: dict[tuple[str, str], list[str]] = {}
    for name, provider, message_id in rows.values_list(*ACCOUNT_COLUMNS, "message__provider_message_id"):
        by_account.setdefault((name, provider), []).append(message_id)
    for (name, provider), message_ids in by_account.items():
        logger.info(PARKED_LOG, len(message_ids), name, provider, resume.isoformat(), ", ".join(message_ids))


def conversions_due(*, account_id: int, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Pending, unclaimed conversions of one account whose next attempt is due: the backlog to drain."""
    now = now or timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    rows = Conversion.objects.filter(due, message__account_id=account_id, report_state=ReportState.PENDING)
    return list(rows.filter(claim_token="").order_by("pk").values_list("pk", flat=True)[:limit])


@transaction.atomic
def claims_release(held, *, why: str) -> dict[int, list[int]]:
    """Release these claimed rows; return {account id: [conversion ids]} released, to report again.

    A worker reports its claimed rows in pk order and releases each as it records it, so of an
    abandoned claim only the lowest pk still held can have reached the provider unrecorded: a
    possible repeat is counted there alone, and logged.
    """
    rows = list(held.exclude(claim_token="").order_by("pk").values_list("pk", "claim_token", "message__account_id"))
    first = {}
    for pk, token, _ in rows:
        first.setdefault(token, pk)
    Conversion.objects.filter(pk__in=first.values()).update(repeat_reports=F("repeat_reports") + 1)
    held.filter(pk__in=[pk for pk, _, _ in rows]).update(claim_token="")
    _log_released([pk for pk, _, _ in rows], set(first.values()), why)
    released: dict[int, list[int]] = {}
    for pk, _, account_id in rows:
        released.setdefault(account_id, []).append(pk)
    return released


def _log_released(ids: list[int], repeats: set[int], why: str) -> None:
    by_account: dict[tuple[str, str], list[str]] = {}
    columns = ("pk", *ACCOUNT_COLUMNS, "message__provider_message_id")
    for pk, name, provider, message_id in Conversion.objects.filter(pk__in=ids).order_by("pk").values_list(*columns):
        by_account.setdefault((name, provider), []).append(message_id)
        if pk in repeats:
            logger.warning(REPEAT_LOG, pk, name, provider, message_id, why)
    for (name, provider), message_ids in by_account.items():
        logger.warning(RELEASED_LOG, len(message_ids), name, provider, why, ", ".join(message_ids))


def claims_release_expired(*, now: datetime | None = None, ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """Release the claims whose lease lapsed (their worker died): {account id: [conversion ids]}."""
    dead = (now or timezone.now()) - timedelta(seconds=config("CLAIM_TIMEOUT_SECONDS"))
    held = Conversion.objects.filter(report_state=ReportState.PENDING, claimed_at__lt=dead).exclude(claim_token="")
    if ids is not None:
        held = held.filter(pk__in=ids)
    return claims_release(held, why=DEAD_WORKER)


@transaction.atomic
def conversions_sweep(*, now: datetime | None = None, limit: int = 10_000) -> dict[int, list[int]]:
    """Find what stayed pending too long (a lost job, a flushed Redis, a killed worker).

    Releases claims whose lease lapsed (counting a possible repeat) and returns {account id:
    [conversion ids]} of those and of pending rows overdue by STALE_AFTER_SECONDS, to re-enqueue.
    """
    now = now or timezone.now()
    found = claims_release_expired(now=now)
    stale = now - timedelta(seconds=config("STALE_AFTER_SECONDS"))
    pending = Conversion.objects.filter(report_state=ReportState.PENDING)
    overdue = Q(next_attempt_at__isnull=True, created_at__lt=stale) | Q(next_attempt_at__lt=stale)
    rows = pending.filter(overdue, claim_token="").order_by("pk").values_list("message__account_id", "pk")[:limit]
    for account_id, pk in rows:
        if pk not in found.get(account_id, ()):
            found.setdefault(account_id, []).append(pk)
    return found


RESEND_REFUSED = "Only failed or skipped conversions can be re-sent; this one is {state}."


@transaction.atomic
def conversion_resend(*, conversion: Conversion) -> Conversion:
    """Put a failed (or skipped) conversion back in the queue, once the operator fixed the account."""
    from apps.messaging import jobs

    if conversion.report_state not in (ReportState.FAILED, ReportState.SKIPPED):
        raise ValueError(RESEND_REFUSED.format(state=conversion.get_report_state_display().lower()))
    updated = Conversion.objects.filter(pk=conversion.pk, report_state=conversion.report_state).update(
        report_state=ReportState.PENDING, last_error="", next_attempt_at=None, claim_token=""
    )
    if updated:
        enqueue(jobs.report_conversions, conversion.message.account_id, [conversion.pk], queue=jobs.QUEUE)
    conversion.refresh_from_db()
    return conversion
