"""rq workers that ride out Redis restarts and always keep one scheduler running.

`manage.py rqworker --worker-class smsdash.worker.ResilientWorker --with-scheduler ...` (Procfile).

rq 3.0's Worker survives a Redis outage only while idle, inside its dequeue loop. A busy worker
reaches Redis from its monitoring loop (heartbeats, then the job's status once the work horse
ends) and from its main loop; a ConnectionError there ends the worker ("found an unhandled
exception, quitting..."), and the forked scheduler process dies in its heartbeat the same way.
Here every such call waits for Redis with a capped backoff and carries on.

rq's scheduler lock (one scheduler per queue across all workers) is retried only by a worker's
maintenance pass, every 10 minutes, and a killed scheduler's lock lives 61 s. Here each worker
checks every SCHEDULER_CHECK_SECONDS that a scheduler is alive, and takes the lock over from one
whose heartbeat has been silent for SCHEDULER_SILENT_SECONDS, so scheduled retries and breaker
resumes run within seconds of their time whichever worker died.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from rq import Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import release_lock
from rq.utils import now, utcparse

logger = logging.getLogger(__name__)

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 5.0  # seconds between tries while Redis is away
IDLE_WAKE_SECONDS = 5  # an idle worker's blocking dequeue returns this often, to check the scheduler
MONITOR_SECONDS = 5  # a busy worker looks at its work horse (heartbeat, scheduler check) this often
SCHEDULER_CHECK_SECONDS = 5
SCHEDULER_SILENT_SECONDS = 10  # a scheduler heartbeats every second: this long silent, it is dead
REDIS_AWAY = "Redis unreachable during %s (%s): retrying in %.1f s"
REDIS_BACK = "Redis reachable again after %.1f s"
TAKEOVER = "Scheduler %s silent for over %d s: taking over the scheduler lock of queue %s"


def wait_for_redis(connection: redis.Redis, what: str, first_error: Exception | None = None) -> None:
    """Block until Redis answers a PING, with a capped exponential backoff; log the outage once."""
    started, delay, error = time.monotonic(), BACKOFF_FIRST, first_error
    while True:
        if error is None:
            try:
                connection.ping()
                break
            except REDIS_DOWN as failure:
                error = failure
        logger.warning(REDIS_AWAY, what, error, delay)
        time.sleep(delay)
        delay, error = min(delay * 2, BACKOFF_CAP), None
    if first_error is not None or time.monotonic() - started > BACKOFF_FIRST:
        logger.warning(REDIS_BACK, time.monotonic() - started)


def tolerate(connection: redis.Redis, what: str, call: Callable[[], Any]) -> Any:
    """call(), and if Redis is away, wait for it and call again."""
    while True:
        try:
            return call()
        except REDIS_DOWN as error:
            wait_for_redis(connection, what, error)


class ResilientScheduler(RQScheduler):
    """rq's scheduler process, kept alive through Redis outages, retrying for its locks every few
    seconds and taking over those of a scheduler that stopped heartbeating."""

    @property
    def should_reacquire_locks(self) -> bool:
        if self._queue_names == self.acquired_locks:
            return False
        if not self.lock_acquisition_time:
            return True
        return (datetime.now() - self.lock_acquisition_time).total_seconds() > SCHEDULER_CHECK_SECONDS

    def acquire_locks(self, auto_start: bool = False):
        for name in self._queue_names - self._acquired_locks:
            self._take_over_if_silent(name)
        return super().acquire_locks(auto_start)

    def _take_over_if_silent(self, name: str) -> None:
        key = self.get_locking_key(name)
        holder = self.connection.get(key)
        if holder is None or holder.decode() == self.name:
            return
        holder = holder.decode()
        beat = self.connection.hget(SCHEDULER_KEY_TEMPLATE % holder, "last_heartbeat")
        if beat and (now() - utcparse(beat.decode())).total_seconds() < SCHEDULER_SILENT_SECONDS:
            return
        if release_lock(self.connection, key, holder):
            logger.warning(TAKEOVER, holder, SCHEDULER_SILENT_SECONDS, name)

    def work(self) -> None:
        self._install_signal_handlers()
        tolerate(self.connection, "scheduler start", self.register_birth)
        while not self._stop_requested:
            try:
                if self.should_reacquire_locks:
                    self.acquire_locks()
                self.heartbeat()
                self.enqueue_scheduled_jobs()
            except REDIS_DOWN as error:
                wait_for_redis(self.connection, "scheduling", error)
                continue
            time.sleep(self.interval)
        try:
            self.stop()
        except REDIS_DOWN:
            logger.warning("scheduler stopped without releasing its locks: Redis is away (they expire)")


class ResilientWorker(Worker):
    """rq's forking Worker whose Redis calls outside the dequeue loop wait out an outage."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("job_monitoring_interval", MONITOR_SECONDS)
        super().__init__(*args, **kwargs)
        self._next_scheduler_check = 0.0
        self._reaped: tuple | None = None

    @property
    def dequeue_timeout(self) -> int:
        return IDLE_WAKE_SECONDS

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ):
        """rq's _start_scheduler with ResilientScheduler; burst workers keep rq's one-pass scheduling."""
        if burst:
            return super()._start_scheduler(burst, logging_level, date_format, log_format)
        self.scheduler = ResilientScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self._next_scheduler_check = 0.0
        self._keep_scheduler()

    def _keep_scheduler(self) -> None:
        """Start this worker's scheduler process if it is not running and the lock can be had."""
        if self.scheduler is None or time.monotonic() < self._next_scheduler_check:
            return
        self._next_scheduler_check = time.monotonic() + SCHEDULER_CHECK_SECONDS
        process = self.scheduler._process
        if process is None or not process.is_alive():
            try:
                self.scheduler.acquire_locks(auto_start=True)
            except REDIS_DOWN as error:
                logger.warning(REDIS_AWAY, "scheduler check", error, SCHEDULER_CHECK_SECONDS)

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline)
        try:
            super().heartbeat(timeout)
        except REDIS_DOWN as error:
            logger.warning(REDIS_AWAY, "heartbeat", error, 0)
            return
        self._keep_scheduler()

    def maintain_heartbeats(self, job, execution) -> None:
        try:
            super().maintain_heartbeats(job, execution)
        except REDIS_DOWN as error:  # the horse is still working: keep watching it, beat next time
            logger.warning(REDIS_AWAY, "job monitoring", error, self.job_monitoring_interval)
            return
        self._keep_scheduler()

    def wait_for_horse(self):
        # What follows the horse's end (its job's status, failure handling) needs Redis. Waiting
        # may be cut by the monitoring alarm: the next call resumes here with the reaped result.
        if self._reaped is None:
            self._reaped = super().wait_for_horse()
        if self._reaped[0] is not None:
            tolerate(self.connection, "job completion", self.connection.ping)
        reaped, self._reaped = self._reaped, None
        return reaped

    def set_state(self, state: str, pipeline=None) -> None:
        if pipeline is not None:
            return super().set_state(state, pipeline)
        return tolerate(self.connection, "worker state", lambda: super(ResilientWorker, self).set_state(state))

    def execute_job(self, job, queue) -> None:
        tolerate(self.connection, "job start", self.connection.ping)
        super().execute_job(job, queue)

    def check_for_suspension(self, burst: bool) -> None:
        tolerate(self.connection, "suspension check", lambda: super(ResilientWorker, self).check_for_suspension(burst))

    def run_maintenance_tasks(self) -> None:
        tolerate(self.connection, "maintenance", super().run_maintenance_tasks)
