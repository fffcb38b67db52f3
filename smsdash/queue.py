"""One way to start background work, whether or not Redis is configured.

With REDIS_URL set, jobs go to django-rq queues and `manage.py rqworker` runs them. Without it
(the zero-setup demo) they run inline in the calling process. Either way they start only after
the current transaction commits, so a job never sees a row that is not there yet.

The options are named and typed here and mapped to rq's own names (RQ_OPTIONS), so a misspelt or
mistyped option fails where enqueue() is called, in the test that reaches that line, rather than
in the after-commit callback in production. Redis being away at that moment never fails the
request whose rows are already committed: it is logged, and the caller hears of it through
on_unavailable (the sweeps of pending work pick the rows up later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from rq import Retry

from smsdash.worker import REDIS_DOWN

logger = logging.getLogger(__name__)

# enqueue()'s option -> the parameter of the installed rq's Queue.enqueue_call (tests/test_queue.py
# checks each against its signature, so an rq upgrade that renames one fails there).
RQ_OPTIONS = {"job_id": "job_id", "job_timeout": "timeout", "retry": "retry"}
UNQUEUED_LOG = "could not enqueue %s(%s) on queue %r: %s"
LOGGED_IDS = 50  # a batch's job carries up to thousands of ids: the log line shows the first ones


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    job_timeout: int | None = None,
    retry: Retry | None = None,
    on_unavailable: Callable[[Exception], None] | None = None,
) -> None:
    """Run func(*args) in the background after commit. job_id, job_timeout (seconds) and retry go
    to rq and are ignored inline, where the call simply happens. on_unavailable(exc) runs when the
    job could not be queued because Redis was unreachable."""
    options = rq_options(job_id=job_id, job_timeout=job_timeout, retry=retry)

    def start() -> None:
        if settings.JOBS_INLINE:
            run_inline(func, *args)
            return
        try:
            queue_for(queue).enqueue_call(func, args=args, **options)
        except REDIS_DOWN as exc:  # rq's own errors and wrong arguments are bugs: they raise
            logger.error(UNQUEUED_LOG, job_name(func), describe_args(args), queue, exc)
            if on_unavailable is not None:
                on_unavailable(exc)

    transaction.on_commit(start)


def enqueue_at(
    when: datetime, func: Callable[..., Any], *args: Any, queue: str = "default", job_id: str | None = None
) -> bool:
    """Run func(*args) on a worker at `when` (rq's scheduler: workers run with --with-scheduler),
    scheduled after commit. Inline there is nothing to wait with: it does nothing and returns False,
    so a caller keeps the due time in a row that one of its periodic jobs (smsdash/cron.py) picks up."""
    options = rq_options(job_id=job_id, job_timeout=None, retry=None)
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise TypeError(f"enqueue_at() needs an aware datetime, not {when!r}")
    if settings.JOBS_INLINE:
        return False

    def start() -> None:
        try:
            queue_for(queue).enqueue_at(when, func, *args, **options)
        except REDIS_DOWN as exc:  # rq's own errors and wrong arguments are bugs: they raise
            logger.error(UNQUEUED_LOG, job_name(func), describe_args(args), queue, exc)

    transaction.on_commit(start)
    return True


def rq_options(*, job_id: str | None, job_timeout: int | None, retry: Retry | None) -> dict[str, Any]:
    """The options given, checked and under rq's names."""
    given = {"job_id": job_id, "job_timeout": job_timeout, "retry": retry}
    checks = {"job_id": str, "job_timeout": int, "retry": Retry}
    for name, value in given.items():
        if value is not None and (not isinstance(value, checks[name]) or isinstance(value, bool)):
            raise TypeError(f"enqueue() option {name} must be {checks[name].__name__}, not {type(value).__name__}")
    if job_timeout is not None and job_timeout <= 0:
        raise ValueError(f"enqueue() option job_timeout must be a positive number of seconds, not {job_timeout}")
    return {RQ_OPTIONS[name]: value for name, value in given.items() if value is not None}


def job_name(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{getattr(func, '__qualname__', func)}"


def describe_args(args: tuple) -> str:
    """The job's arguments for a log line: ids and short values whole, long id lists cut with a count."""
    parts = []
    for arg in args:
        if isinstance(arg, (list, tuple)) and len(arg) > LOGGED_IDS:
            parts.append(f"[{', '.join(map(str, arg[:LOGGED_IDS]))}, ... {len(arg)} in all]")
        else:
            parts.append(repr(arg))
    return ", ".join(parts)


def run_inline(func: Callable[..., Any], *args: Any) -> None:
    # An inline job failing must not turn the caller's request into a 500: a job records its
    # own outcome, and the periodic sweeps pick up whatever it left pending.
    try:
        func(*args)
    except Exception:
        logger.exception("inline job %s failed", getattr(func, "__name__", func))


_queues: dict = {}


def queue_for(name: str):
    """The django-rq queue, kept per process: django_rq.get_queue() opens a new Redis connection
    pool on every call, which cost more than the rest of an ingest request (issue 4 benchmark).

    It enqueues at once (commit_mode "auto"): callers are already past their commit, in enqueue()'s
    on_commit callback or in a job's follow-ups, which belong to no transaction."""
    import django_rq

    key = (name, repr(settings.RQ_QUEUES.get(name)))
    if key not in _queues:
        _queues[key] = django_rq.get_queue(name, commit_mode="auto")
    return _queues[key]
