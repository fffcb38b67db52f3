import time

from django.core.management.base import BaseCommand

from smsdash.queue import run_inline


class Command(BaseCommand):
    help = (
        "Run the periodic jobs of smsdash/cron.py inline, on their intervals, for deployments without "
        "Redis (with Redis, use `manage.py rqcron smsdash.cron` and rqworker instead)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every periodic job once, then exit.")

    def handle(self, *args, once: bool, **options):
        from smsdash.cron import PERIODIC_JOBS

        next_run = {func: 0.0 for func, _queue, _interval in PERIODIC_JOBS}
        while True:
            for func, _queue, interval in PERIODIC_JOBS:
                if time.monotonic() >= next_run[func]:
                    run_inline(func)
                    next_run[func] = time.monotonic() + interval
            if once:
                self.stdout.write(f"Ran {len(PERIODIC_JOBS)} periodic jobs once.")
                return
            time.sleep(max(0.5, min(next_run.values()) - time.monotonic()))
