"""How many signed provider calls per second the simulator answers, per provider, through the real
clients, so that benchmarks of reporting and sync know it is not their bottleneck.

    .venv/bin/python -m bench.providers.simulator_throughput [--seconds 5] [--threads 8] [--write]

Starts `manage.py simulate_providers --no-database` on a free port in its own process, seeds one
message per provider, then for each provider runs `--threads` client threads calling
report_conversion (Alibaba: ACS3 and RPC v1) for `--seconds`; prints calls/s and latency
percentiles, and with --write records them under "Issue 3" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsdash.settings")
django.setup()

import requests  # noqa: E402

from apps.providers.clients.base import ConversionOutcome, ConversionReport  # noqa: E402
from apps.providers.clients.registry import CLIENTS  # noqa: E402
from apps.providers.models import ProviderAccount  # noqa: E402
from apps.providers.simulator import defaults  # noqa: E402
from bench.processes import free_port, start_simulator  # noqa: E402

CASES = [
    ("aliyun", "acs3", defaults.DEMO_ALIYUN_KEY, "+8613800138000", "100^1"),
    ("aliyun", "rpc_v1", defaults.DEMO_ALIYUN_KEY, "+8613800138000", "100^1"),
    ("tencent", "acs3", defaults.DEMO_TENCENT_KEY, "+8613800138000", "2640:1"),
    ("plivo", "acs3", defaults.DEMO_PLIVO_AUTH, "+14155552222", "bench-uuid"),
]


def seed(url: str) -> None:
    sent = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    rows = [
        {"provider": p, "message_id": mid, "phone": phone, "sent_at": sent, "app_id": defaults.DEMO_TENCENT_APP_ID}
        for p, _sig, _key, phone, mid in CASES
    ]
    requests.post(f"{url}/_simulator/messages", json={"messages": rows}, timeout=5).raise_for_status()


def run_case(url: str, case, seconds: float, threads: int) -> dict:
    provider, signature, (key_id, secret), phone, message_id = case
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        account = ProviderAccount(provider=provider, key_id=key_id, key_secret=secret, endpoint=url,
                                  sdk_app_id=defaults.DEMO_TENCENT_APP_ID, alibaba_signature=signature)  # fmt: skip
        client = CLIENTS[provider](account)
        mine, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                client.report_conversion(
                    ConversionReport(message_id, phone, ConversionOutcome.CONVERTED, datetime.now(UTC))
                )
            except Exception:
                failed += 1
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    latencies.sort()
    name = f"{provider} ({signature})" if provider == "aliyun" else provider
    return {
        "case": name,
        "calls": len(latencies),
        "per_second": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "errors": errors[0],
    }


def _row(r: dict) -> str:
    cells = [r["case"], r["calls"], f"{r['per_second']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", r["errors"]]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def write(results: list[dict], args) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = [
        "## Issue 3: provider simulator throughput",
        "",
        f"`.venv/bin/python -m bench.providers.simulator_throughput --seconds {args.seconds} --threads {args.threads}"
        f" --write` on {platform.machine()} ({os.cpu_count()} cores shared with other work), Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}: report_conversion through the real clients"
        " (signing, HTTP keep-alive, JSON) against `simulate_providers` in its own process.",
        "",
        "| provider | calls | calls/s | p50 ms | p95 ms | errors |",
        "|---|---|---|---|---|---|",
        *[_row(r) for r in results],
        "",
    ]
    section = "\n".join(lines)
    start = text.find("## Issue 3:")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    port = free_port()
    process = start_simulator(port)
    url = f"http://127.0.0.1:{port}"
    try:
        seed(url)
        results = [run_case(url, case, args.seconds, args.threads) for case in CASES]
    finally:
        process.terminate()
        process.wait(timeout=10)
    for r in results:
        print(f"{r['case']:16} {r['calls']:6} calls {r['per_second']:7.0f}/s  p50 {r['p50_ms']:.1f} ms  "
              f"p95 {r['p95_ms']:.1f} ms  errors {r['errors']}")  # fmt: skip
    if args.write:
        write(results, args)


if __name__ == "__main__":
    main()
