import time

from django.core.management.base import BaseCommand

from apps.dashboard.rollups import rollups_rebuild_all, rollups_refresh


class Command(BaseCommand):
    help = "Rebuild the dashboard's dirty rollup hours (what cron does every minute), or --all of them."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Rebuild every hour from the raw rows.")

    def handle(self, *args, all: bool, **options):
        started = time.monotonic()
        hours = rollups_rebuild_all() if all else rollups_refresh()
        self.stdout.write(f"Rebuilt {hours} hour(s) of rollups in {time.monotonic() - started:.1f}s.")
