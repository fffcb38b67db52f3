"""`manage.py simulate_providers --port 8025`: the local Alibaba/Tencent/Plivo simulator of `make run`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.providers.simulator import defaults
from apps.providers.simulator.loader import DatabaseLoader
from apps.providers.simulator.server import SimulatorServer
from apps.providers.simulator.state import SimulatorState


def key_pair(value: str) -> tuple[str, str]:
    key_id, sep, secret = value.partition(":")
    if not sep or not key_id or not secret:
        raise CommandError(f"Credentials must be written ID:SECRET, got {value!r}.")
    return key_id, secret


class Command(BaseCommand):
    help = "Serve the Alibaba Cloud, Tencent Cloud and Plivo SMS APIs locally, on one port, for the demo and tests."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=defaults.DEFAULT_PORT)
        parser.add_argument("--aliyun-key", action="append", type=key_pair, metavar="ACCESS_KEY_ID:SECRET")
        parser.add_argument("--tencent-key", action="append", type=key_pair, metavar="SECRET_ID:SECRET_KEY")
        parser.add_argument("--plivo-auth", action="append", type=key_pair, metavar="AUTH_ID:AUTH_TOKEN")
        parser.add_argument(
            "--review-delay", type=float, default=20.0, help="seconds before a submitted template is decided"
        )
        parser.add_argument("--no-database", action="store_true", help="do not load the demo's messages")

    def handle(self, *args, **options):
        state = SimulatorState(
            aliyun=options["aliyun_key"],
            tencent=options["tencent_key"],
            plivo=options["plivo_auth"],
            review_delay=options["review_delay"],
        )
        try:
            server = SimulatorServer(state, host=options["host"], port=options["port"])
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        if not options["no_database"]:
            state.loader = DatabaseLoader(state, port=server.httpd.server_address[1])
            loaded = state.loader.refresh(force=True)
            self.stdout.write(f"Loaded {loaded} messages and {len(state.templates)} templates of simulated accounts.")
        for provider, keys in state.credentials.items():
            self.stdout.write(f"{provider}: accepting {', '.join(sorted(keys))}")
        self.stdout.write(f"Provider simulator on {server.url} (control: {server.url}/_simulator/stats)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.httpd.server_close()
