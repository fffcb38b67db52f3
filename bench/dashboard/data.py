"""10 million OTP messages in PostgreSQL, generated inside the database (INSERT ... SELECT generate_series).

    .venv/bin/python bench/dashboard/data.py [--messages 10000000] [--days 90]

Creates (or recreates) the database smsdash_bench on the local server, migrates it, and fills it:
6 accounts (2 per provider), 19 provider/country routes, 3 templates per account, messages spread
evenly over the last --days days, delivery and conversion outcomes derived from a hash of the row
number (deterministic). The rollup triggers are dropped during the load and put back afterwards;
the first refresh then builds every hour (timed: that is the cost of a full rebuild).
Drop the database afterwards: `dropdb -h 127.0.0.1 -U postgres smsdash_bench` (bench/dashboard/run.py --drop).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SERVER = "postgres://postgres@127.0.0.1:5432"
DATABASE = "smsdash_bench"
CHUNK = 1_000_000

# provider -> (countries with dialling prefix, delivered permille, verified permille of delivered)
ROUTES = {
    "aliyun": [("CN", "+86", 970, 880), ("SG", "+65", 950, 840), ("ID", "+62", 860, 710), ("MY", "+60", 930, 800)],
    "tencent": [("CN", "+86", 960, 850), ("HK", "+852", 950, 830), ("ID", "+62", 800, 620), ("TH", "+66", 900, 760)],
    "plivo": [
        ("US", "+1", 940, 820),
        ("GB", "+44", 950, 840),
        ("IN", "+91", 830, 660),
        ("BR", "+55", 880, 740),
        ("NG", "+234", 700, 380),
        ("DE", "+49", 950, 860),
        ("FR", "+33", 940, 850),
        ("MX", "+52", 870, 720),
        ("PH", "+63", 850, 690),
        ("EG", "+20", 780, 560),
        ("ID", "+62", 820, 650),
    ],
}


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsdash.settings")
    import django

    django.setup()


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def combos(accounts: dict[str, list[int]]) -> list[tuple]:
    """(idx, account_id, country, dial, template_code, delivered permille, verified permille)."""
    rows = []
    for provider, routes in ROUTES.items():
        for account_id in accounts[provider]:
            for country, dial, delivered, verified in routes:
                for template in range(3):
                    code = f"{provider[:3].upper()}_{account_id}_{template}" if provider != "plivo" else ""
                    rows.append((len(rows), account_id, country, dial, code, delivered, verified))
    return rows


def make_accounts() -> dict[str, list[int]]:
    from apps.providers.models import ProviderAccount
    from tests.factories import ACCOUNT_DEFAULTS

    accounts: dict[str, list[int]] = {}
    for provider in ROUTES:
        for n in range(2):
            account = ProviderAccount.objects.create(
                provider=provider, name=f"bench {provider} {n}", **ACCOUNT_DEFAULTS[provider]
            )
            accounts.setdefault(provider, []).append(account.pk)
    return accounts


MESSAGES_SQL = """
WITH c(idx, account_id, country, dial, code, dp, vp) AS (SELECT * FROM unnest(
  %(idx)s::int[], %(account)s::bigint[], %(country)s::text[], %(dial)s::text[], %(code)s::text[],
  %(dp)s::int[], %(vp)s::int[]))
INSERT INTO messaging_sentmessage (account_id, provider_message_id, phone, country, template_id, template_code,
  content, out_id, trackable, sent_at, delivery_status, error_code, received_at, created_at, updated_at)
SELECT c.account_id, 'bench-' || g, c.dial || lpad(((g * 7919) %% 1000000000)::text, 9, '0'), c.country, NULL,
  c.code, '', 'otp-' || g, true, %(start)s::timestamptz + (g::float8 / %(total)s) * %(span)s * interval '1 second',
  CASE WHEN (g * 31) %% 1000 < c.dp THEN 'delivered' WHEN (g * 31) %% 1000 < c.dp + 15 THEN 'pending' ELSE 'failed' END,
  '', NULL, now(), now()
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g JOIN c ON c.idx = (g * 2654435761) %% %(ncombos)s
"""

CONVERSIONS_SQL = """
INSERT INTO messaging_conversion (message_id, status, converted_at, report_state, report_attempts, last_error,
  provider_request_id, claim_token, repeat_reports, duplicate_submissions, created_at)
SELECT m.id, CASE WHEN m.delivery_status = 'delivered' AND (m.id * 17) %% 1000 < 840 THEN 'converted'
  ELSE 'not_converted' END, m.sent_at + interval '40 seconds', 'reported', 1, '', '', '', 0, 0, now()
FROM messaging_sentmessage m
WHERE m.id BETWEEN %(lo)s AND %(hi)s AND (m.delivery_status = 'delivered' OR (m.id * 13) %% 10 = 0)
"""


def load(messages: int, days: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from apps.dashboard.triggers import drop_triggers

    accounts = make_accounts()
    rows = combos(accounts)
    columns = list(zip(*rows, strict=True))
    params = dict(zip(["idx", "account", "country", "dial", "code", "dp", "vp"], map(list, columns), strict=True))
    span = days * 86400
    params.update(start=timezone.now() - timezone.timedelta(seconds=span), total=messages, span=span, ncombos=len(rows))
    drop_triggers(connection)
    started = time.monotonic()
    with connection.cursor() as cursor:
        for lo in range(0, messages, CHUNK):
            cursor.execute(MESSAGES_SQL, {**params, "lo": lo, "hi": min(messages, lo + CHUNK) - 1})
            print(f"  messages {min(messages, lo + CHUNK):,}", flush=True)
        cursor.execute("SELECT min(id), max(id) FROM messaging_sentmessage")
        low, high = cursor.fetchone()
        for lo in range(low, high + 1, CHUNK):
            cursor.execute(CONVERSIONS_SQL, {"lo": lo, "hi": lo + CHUNK - 1})
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM messaging_conversion")
        conversions = cursor.fetchone()[0]
    return {"messages": messages, "conversions": conversions, "combos": len(rows), "load_s": time.monotonic() - started}


def build_rollups() -> dict:
    from django.db import connection

    from apps.dashboard.models import HourlyStat
    from apps.dashboard.rollups import rollups_refresh
    from apps.dashboard.triggers import ensure_triggers

    ensure_triggers(connection)  # marks every hour dirty
    started = time.monotonic()
    hours = rollups_refresh()
    elapsed = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE dashboard_hourlystat")
    return {"rollup_hours": hours, "rollup_rows": HourlyStat.objects.count(), "rollup_build_s": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    recreate_database()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    figures = load(args.messages, args.days)
    figures.update(build_rollups())
    print(figures)


if __name__ == "__main__":
    main()
