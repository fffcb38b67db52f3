"""One way to start background work, whether or not Redis is configured.

With REDIS_URL set, jobs go to django-rq queues and `manage.py rqworker` runs them. Without it
(the zero-setup demo) they run inline in the calling process. Either way they start only after
the current transaction commits, so a job never sees a row that is not there yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(func: Callable[..., Any], *args: Any, queue: str = "default", **job_options: Any) -> None:
    """Run func(*args) in the background after commit. job_options go to rq's Queue.enqueue_call
    (retry, job_id, job_timeout...) and are ignored inline, where the call simply happens."""

    def start() -> None:
        if settings.JOBS_INLINE:
            run_inline(func, *args)
        else:
            queue_for(queue).enqueue_call(func, args=args, **job_options)

    transaction.on_commit(start)


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
