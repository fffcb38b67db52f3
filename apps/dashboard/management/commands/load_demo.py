import time

from django.core.management.base import BaseCommand

from apps.dashboard.demo import load_demo
from apps.dashboard.rollups import rollups_refresh


class Command(BaseCommand):
    help = "Load the demo accounts, templates and 30 days of traffic (does nothing if already loaded)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply the demo's message volume.")

    def handle(self, *args, scale: float, **options):
        started = time.monotonic()
        counts = load_demo(messages_scale=scale)
        if not any(counts.values()):
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        rollups_refresh()  # so the dashboard's first view need not build 30 days of rollups
        summary = ", ".join(f"{n:,} {what}" for what, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {time.monotonic() - started:.1f}s: {summary}."))
