"""Periodic jobs, all listed here once.

With Redis, `manage.py rqcron smsdash.cron` enqueues them (rq's cron reads the registrations below).
Without Redis (the zero-setup demo), `manage.py run_periodic` calls the same functions inline on the
same intervals, so syncs, sweeps and rollups keep running either way.
"""

from __future__ import annotations

from rq import cron

from apps.dashboard.jobs import drops_check_job, rollups_refresh_job
from apps.dashboard.ops_alerts import ops_check_job
from apps.dashboard.retention import retention_run_job
from apps.messaging.jobs import release_dead_claims, sweep_pending_conversions
from apps.providers.sync.jobs import sync_schedule_job
from apps.sms_templates.jobs import template_submission_sweep_job

# (function, rq queue, interval in seconds)
PERIODIC_JOBS = [
    # Issue 5: start the delivery and template review syncs that are due (account.sync_interval_minutes).
    (sync_schedule_job, "sync", 60),
    # Issue 7: rebuild the dashboard's dirty rollup hours, then judge the last complete hours for drops.
    (rollups_refresh_job, "default", 60),
    (drops_check_job, "default", 600),
    # Issue 6: restart template submissions whose job was lost; give back those never started or whose
    # worker died. Every 15 s because it also makes the follow-up review checks due after a submission
    # (30 s, 1, 2, 5, 10 min), which without Redis nothing else schedules.
    (template_submission_sweep_job, "default", 15),
    # Issue 4: re-enqueue conversion reports that stayed pending too long (a lost job, a flushed Redis,
    # a killed worker); frees the claims of dead workers.
    (sweep_pending_conversions, "reports", 60),
    # Give back the rows of workers that died, once their claim lease lapsed (CLAIM_TIMEOUT_SECONDS):
    # on "default", which workers take first, so a long reports queue does not hold it back.
    (release_dead_claims, "default", 10),
    # Alert (e-mail, webhook) once when reports wait too long or a breaker stays open, and when it
    # clears. That no worker is alive is seen by `manage.py ops_watch`, which needs no worker.
    (ops_check_job, "default", 60),
    # Delete messages, conversions and receipts older than their account's retention_days, hourly.
    (retention_run_job, "default", 3600),
]

for func, queue_name, interval in PERIODIC_JOBS:
    cron.register(func, queue_name, interval=interval)
