"""Benchmark: one delivery sync of 100,000 pending Alibaba (or Tencent) messages over 10,000 phone numbers.

    .venv/bin/python bench/sync/run.py [--messages 100000] [--phones 10000] [--provider tencent --days 5]

The simulator runs in its own process (`manage.py simulate_providers`), seeded over its control API;
smsdash's database is a fresh SQLite file under var/bench/ unless DATABASE_URL names one (use a
scratch database: the benchmark's rows are deleted first). Prints messages/s and provider calls
against the minimum the API allows (bench/sync/data.py: minimum_calls, tencent_minimum_calls), as a
Markdown table. Tencent's calls are paced at its documented 20 requests/s (apps/providers/sync/engine.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.processes import free_port, start_simulator  # noqa: E402


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        path = ROOT / "var" / "bench" / "sync.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsdash.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


OPERATIONS = {"aliyun": "QuerySendDetails", "tencent": "PullSmsSendStatusByPhoneNumber"}
NAMES = {"aliyun": "Benchmark Alibaba", "tencent": "Benchmark Tencent"}


def seed(url: str, rows, provider: str) -> None:
    batch = 5000
    for start in range(0, len(rows), batch):
        body = {
            "messages": [
                dict(
                    provider=provider,
                    message_id=r.message_id,
                    phone=r.phone,
                    sent_at=r.sent_at.isoformat(),
                    delivery=r.delivery,
                    template_code=r.template_code,
                )
                for r in rows[start : start + batch]
            ]
        }
        requests.post(f"{url}/_simulator/messages", json=body, timeout=60).raise_for_status()


def store(account, rows) -> None:
    from apps.messaging.models import SentMessage
    from apps.messaging.phone import country_of

    SentMessage.objects.bulk_create(
        [
            SentMessage(
                account=account,
                provider_message_id=r.message_id,
                phone=r.phone,
                country=country_of(r.phone),
                sent_at=r.sent_at,
                template_code=r.template_code,
            )
            for r in rows
            if r.known
        ],
        batch_size=5000,
    )


def bench_account(url: str, provider: str):
    from apps.messaging.models import DeliveryReceipt, SentMessage
    from apps.providers.models import ProviderAccount, SyncRun
    from apps.providers.simulator import defaults

    old = ProviderAccount.objects.filter(name=NAMES[provider])
    DeliveryReceipt.objects.filter(account__in=old).delete()
    SentMessage.objects.filter(account__in=old).delete()
    SyncRun.objects.filter(account__in=old).delete()
    old.delete()
    if provider == "tencent":
        (key_id, secret), region, extra = defaults.DEMO_TENCENT_KEY, "ap-guangzhou", defaults.DEMO_TENCENT_APP_ID
    else:
        (key_id, secret), region, extra = defaults.DEMO_ALIYUN_KEY, "cn-hangzhou", ""
    return ProviderAccount.objects.create(
        provider=provider,
        name=NAMES[provider],
        key_id=key_id,
        key_secret=secret,
        region=region,
        sdk_app_id=extra,
        endpoint=url,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--phones", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None, help="threads per run (default: SYNC_WORKERS)")
    parser.add_argument("--provider", choices=sorted(OPERATIONS), default="aliyun")
    parser.add_argument("--days", type=int, default=6, help="messages spread over this many past days")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    if args.workers:
        settings.SYNC_WORKERS = args.workers
    from django.db import connection
    from django.utils import timezone

    from apps.messaging.models import DeliveryReceipt, SentMessage
    from apps.providers.models import SyncKind
    from apps.providers.sync.engine import sync_execute
    from bench.sync.data import generate, minimum_calls, tencent_day_group_calls, tencent_minimum_calls

    port = free_port()
    simulator = start_simulator(port)
    url = f"http://127.0.0.1:{port}"
    try:
        rows = generate(messages=args.messages, phones=args.phones, provider=args.provider, days=args.days)
        seed(url, rows, args.provider)
        account = bench_account(url, args.provider)
        store(account, rows)
        started = time.perf_counter()
        run = sync_execute(account=account, kind=SyncKind.DELIVERY, trigger="benchmark")
        elapsed = time.perf_counter() - started
        stats = requests.get(f"{url}/_simulator/stats", timeout=5).json()["requests"]
        calls = stats[args.provider][OPERATIONS[args.provider]]
    finally:
        simulator.terminate()
        simulator.wait()
    known = sum(r.known for r in rows)
    statuses = {
        status: SentMessage.objects.filter(account=account, delivery_status=status).count()
        for status in ("delivered", "failed", "pending")
    }
    if args.provider == "tencent":
        now = timezone.now()
        anchor = tencent_minimum_calls(rows, now=now)
        print(f"| day-group planner before this change (computed) | {tencent_day_group_calls(rows, now=now):,} |")
    else:
        anchor = minimum_calls(rows)
    receipts = DeliveryReceipt.objects.filter(account=account).count()
    threads = 1 if connection.vendor == "sqlite" else settings.SYNC_WORKERS  # as SyncContext.workers decides
    print(f"| database, threads per run | {connection.vendor}, {threads} |")
    unknown = len(rows) - known
    print(f"| pending messages / phone numbers | {known:,} / {args.phones:,} (+{unknown:,} unknown to smsdash) |")
    print(f"| run | #{run.pk} {run.status}, {run.pages_fetched:,} pages, {run.progress_total:,} groups |")
    print(f"| wall time | {elapsed:.1f} s |")
    print(f"| messages/s | {known / elapsed:,.0f} |")
    print(f"| provider calls ({OPERATIONS[args.provider]}) | {calls:,} |")
    print(f"| minimum calls the API allows (anchor) | {anchor:,} |")
    print(f"| calls / minimum | {calls / anchor:.3f} |")
    print(
        f"| result | {statuses['delivered']:,} delivered, {statuses['failed']:,} failed, "
        f"{statuses['pending']:,} still pending; {receipts:,} unknown messages recorded |"
    )


if __name__ == "__main__":
    main()
