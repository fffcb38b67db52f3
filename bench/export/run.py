"""Benchmark: stream 1,000,000 messages as CSV through the admin's export view, against PostgreSQL's
own COPY of the same rows and columns.

    .venv/bin/python bench/dashboard/data.py     # builds smsdash_bench (10 million messages)
    .venv/bin/python bench/export/run.py [--rows 1000000]

The export runs in a fresh child process (so its peak resident memory, ru_maxrss, is the export's
and Django's, nothing else), through the real changelist URL with a sent_at filter selecting the
newest --rows messages; the response is consumed chunk by chunk and discarded, as a client would.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.dashboard.data import setup_django  # noqa: E402

COPY_SQL = """COPY (
  SELECT m.provider_message_id, a.provider, a.name, m.phone, m.country, m.template_code, m.out_id, m.trackable,
    m.sent_at, m.delivery_status, m.error_code, m.received_at, c.status, c.converted_at
  FROM messaging_sentmessage m JOIN providers_provideraccount a ON a.id = m.account_id
  LEFT JOIN messaging_conversion c ON c.message_id = m.id
  WHERE m.sent_at >= %s ORDER BY m.sent_at DESC
) TO STDOUT WITH (FORMAT csv, HEADER)"""


def boundary(rows: int):
    from apps.messaging.models import SentMessage

    return SentMessage.objects.order_by("-sent_at").values_list("sent_at", flat=True)[rows - 1]


def child(since: str) -> None:
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["localhost"]
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    started = time.perf_counter()
    response = client.get("/admin/messaging/sentmessage/export.csv", {"sent_at__gte": since})
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": lines - 1, "seconds": elapsed, "bytes": size, "peak_rss_mb": peak_mb}))


def copy_anchor(since) -> dict:
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    size = lines = 0
    with raw.cursor() as cursor, cursor.copy(COPY_SQL, [since]) as copy:
        for data in copy:
            size += len(data)
            lines += bytes(data).count(b"\n")
    return {"rows": lines - 1, "seconds": time.perf_counter() - started, "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    setup_django()
    since = boundary(args.rows)
    result = subprocess.run(
        [sys.executable, __file__, "--child", since.isoformat()], capture_output=True, text=True, check=True
    )
    ours = json.loads(result.stdout.strip().splitlines()[-1])
    anchor = copy_anchor(since)
    print("| export of the newest messages | rows | seconds | rows/s | MB written | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for label, r in (("smsdash admin export (streamed)", ours), ("PostgreSQL COPY ... TO STDOUT (anchor)", anchor)):
        rss = f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else "n/a (server side)"
        rate = r["rows"] / r["seconds"]
        print(f"| {label} | {r['rows']:,} | {r['seconds']:.1f} | {rate:,.0f} | {r['bytes'] / 1e6:.0f} | {rss} |")


if __name__ == "__main__":
    main()
