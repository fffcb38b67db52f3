"""Benchmark every dashboard data view on the 10-million-message database of bench/dashboard/data.py,
next to a naive aggregate over the raw tables for the same numbers.

    .venv/bin/python bench/dashboard/data.py          # once: builds smsdash_bench (about 10 minutes)
    .venv/bin/python bench/dashboard/run.py [--runs 10] [--drop]

Each view is requested through Django's full stack (test client: middleware, auth, view, template or
JSON) as a superuser; the rollup refresh before each answer is included. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.dashboard.data import DATABASE, SERVER, setup_django  # noqa: E402

VIEWS = [
    ("page, last 24 h", "/admin/dashboard/?range=24h"),
    ("page, last 7 d", "/admin/dashboard/?range=7d"),
    ("page, last 30 d", "/admin/dashboard/?range=30d"),
    ("page, 30 d, Plivo + IN", "/admin/dashboard/?range=30d&provider=plivo&country=IN&by=template"),
    ("conversion chart, 24 h by hour", "/admin/dashboard/data/conversion/?range=24h"),
    ("conversion chart, 7 d by hour", "/admin/dashboard/data/conversion/?range=7d&granularity=hour"),
    ("conversion chart, 30 d by day", "/admin/dashboard/data/conversion/?range=30d"),
    ("conversion chart, 30 d, Asia/Kolkata", "/admin/dashboard/data/conversion/?range=30d&tz=Asia/Kolkata"),
    ("delivery chart, 30 d by day", "/admin/dashboard/data/delivery/?range=30d"),
    ("comparison chart, 30 d", "/admin/dashboard/data/comparison/?range=30d"),
    ("funnel chart, 30 d", "/admin/dashboard/data/funnel/?range=30d"),
    ("breakdown CSV, 30 d by template", "/admin/dashboard/export/breakdown/?range=30d&by=template"),
]

NAIVE = [
    (
        "conversion by day, 30 d",
        """SELECT date_trunc('day', m.sent_at AT TIME ZONE 'UTC') d, count(*),
             count(*) FILTER (WHERE c.status = 'converted'), count(*) FILTER (WHERE m.delivery_status = 'delivered')
           FROM messaging_sentmessage m LEFT JOIN messaging_conversion c ON c.message_id = m.id
           WHERE m.sent_at >= now() - interval '30 days' GROUP BY 1 ORDER BY 1""",
    ),
    (
        "conversion by hour, 24 h",
        """SELECT date_trunc('hour', m.sent_at AT TIME ZONE 'UTC') h, count(*),
             count(*) FILTER (WHERE c.status = 'converted')
           FROM messaging_sentmessage m LEFT JOIN messaging_conversion c ON c.message_id = m.id
           WHERE m.sent_at >= now() - interval '24 hours' GROUP BY 1 ORDER BY 1""",
    ),
    (
        "funnel per provider and country, 30 d",
        """SELECT a.provider, m.country, count(*),
             count(*) FILTER (WHERE m.delivery_status IN ('delivered', 'failed')),
             count(*) FILTER (WHERE m.delivery_status = 'delivered'), count(*) FILTER (WHERE c.status = 'converted')
           FROM messaging_sentmessage m JOIN providers_provideraccount a ON a.id = m.account_id
           LEFT JOIN messaging_conversion c ON c.message_id = m.id
           WHERE m.sent_at >= now() - interval '30 days' GROUP BY 1, 2""",
    ),
]


def timed(func, runs: int) -> list[float]:
    func()  # warm-up: caches, connection
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def row(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"| {label} | {statistics.median(samples):.0f} | {p95:.0f} | {max(samples):.0f} |"


def bench_views(runs: int) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)

    return [row(label, timed(lambda url=url: get(url), runs)) for label, url in VIEWS]


def bench_naive(runs: int) -> list[str]:
    from django.db import connection

    def run(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()

    return [row(f"naive SQL: {label}", timed(lambda sql=sql: run(sql), runs)) for label, sql in NAIVE]


def bench_incremental() -> str:
    """A busy minute: 5,000 new messages this hour and 2,000 receipts, then the refresh before a view."""
    from django.db import connection

    from apps.dashboard.rollups import rollups_refresh

    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO messaging_sentmessage (account_id, provider_message_id, phone, country, template_id,
                 template_code, content, out_id, trackable, sent_at, delivery_status, error_code, received_at,
                 created_at, updated_at)
               SELECT account_id, 'live-' || g || '-' || provider_message_id, phone, country, NULL, template_code, '',
                 '', true, now(), 'pending', '', NULL, now(), now()
               FROM generate_series(1, 5000) g,
                 LATERAL (SELECT * FROM messaging_sentmessage ORDER BY id DESC LIMIT 1) last"""
        )
        cursor.execute(
            """UPDATE messaging_sentmessage SET delivery_status = 'delivered', updated_at = now()
               WHERE id IN (SELECT id FROM messaging_sentmessage WHERE delivery_status = 'pending'
                            AND sent_at > now() - interval '3 hours' LIMIT 2000)"""
        )
    started = time.perf_counter()
    hours = rollups_refresh()
    elapsed = (time.perf_counter() - started) * 1000
    idle = timed(rollups_refresh, 10)
    return (
        f"| incremental refresh after 5,000 inserts + 2,000 receipts ({hours} hours rebuilt) | {elapsed:.0f} | | |\n"
        f"| refresh with nothing new (every view pays this) | {statistics.median(idle):.1f} | | |"
    )


def drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--drop", action="store_true", help="drop smsdash_bench afterwards")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    from apps.messaging.models import SentMessage

    settings.DEBUG = False  # no query log in the timings
    settings.ALLOWED_HOSTS = ["localhost"]
    print(f"{SentMessage.objects.count():,} messages\n")
    print("| view | median ms | p95 ms | max ms |\n|---|---|---|---|")
    for line in bench_views(args.runs) + bench_naive(max(3, args.runs // 3)):
        print(line, flush=True)
    print(bench_incremental())
    if args.drop:
        drop_database()


if __name__ == "__main__":
    main()
