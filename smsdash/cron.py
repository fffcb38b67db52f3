"""Periodic jobs, all registered here; run by `manage.py rqcron smsdash.cron` (see Procfile).

Each app adds its sweeps below as it grows them.
"""

from rq import cron  # noqa: F401

# Issue 5: start the delivery and template review syncs that are due (account.sync_interval_minutes).
from apps.providers.sync.jobs import sync_schedule_job  # noqa: E402

cron.register(sync_schedule_job, "sync", interval=60)

# Issue 7: rebuild the dashboard's dirty rollup hours, then judge the last complete hours for drops.
from apps.dashboard.jobs import drops_check_job, rollups_refresh_job  # noqa: E402

cron.register(rollups_refresh_job, "default", interval=60)
cron.register(drops_check_job, "default", interval=600)

# Issue 6: restart template submissions whose job was lost; give back those whose worker died.
from apps.sms_templates.jobs import template_submission_sweep_job  # noqa: E402

cron.register(template_submission_sweep_job, "default", interval=120)

# Issue 4: re-enqueue conversion reports that stayed pending too long (a lost job, a flushed Redis,
# a killed worker); frees the claims of dead workers.
from apps.messaging.jobs import sweep_pending_conversions  # noqa: E402

cron.register(sweep_pending_conversions, "reports", interval=60)
