"""Periodic jobs, all registered here; run by `manage.py rqcron smsdash.cron` (see Procfile).

Each app adds its sweeps below as it grows them.
"""

from rq import cron  # noqa: F401
