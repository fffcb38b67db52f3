import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from apps.dashboard.ops_alerts import CHECK_SECONDS, ops_check_job
from smsdash.queue import run_inline


class Command(BaseCommand):
    help = (
        "Run the operational alert check (no worker alive, reports waiting too long, a breaker open too "
        "long) every minute in this process. It needs no rq worker, so it can say that none is alive; "
        "the same check also runs from rq's cron while workers are up."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Check once, then exit.")

    def handle(self, *args, once: bool, **options):
        while True:
            run_inline(ops_check_job)
            if once:
                return
            time.sleep(CHECK_SECONDS)
            close_old_connections()  # a database restarted meanwhile must not end the watch
