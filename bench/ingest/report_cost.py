"""CPU of each step of reporting one conversion, in one process and one thread, against the simulator.

    .venv/bin/python -m bench.ingest.report_cost [--reports 2000]

Same database and settings as bench.ingest.run (PostgreSQL smsdash_bench4). Claims, signs, calls
and records each step on its own over all the reports, so the figures add up to about what a worker
spends per report (bench.ingest.run measures that whole, across processes).
"""

from __future__ import annotations

import argparse
import time

from bench.ingest import run

ENV = run.ENV  # importing run set these and started Django; the imports below need both

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.messaging.models import Conversion  # noqa: E402
from apps.messaging.services import reporting  # noqa: E402
from apps.providers.clients import client_for, transport  # noqa: E402
from apps.providers.clients.base import ConversionOutcome, ConversionReport  # noqa: E402
from apps.providers.models import ProviderAccount  # noqa: E402
from bench.ingest import data  # noqa: E402
from bench.processes import free_port  # noqa: E402

CHUNK = reporting.CHUNK


def per_item(label: str, items: list, step) -> None:
    started = time.process_time()
    for item in items:
        step(item)
    print(f"{label:<28} {(time.process_time() - started) / len(items) * 1000:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=2000)
    count = parser.parse_args().reports
    run.call_command("migrate", verbosity=0)
    data.reset()
    port = free_port()
    account = data.report_account(f"http://127.0.0.1:{port}")
    messages = data.messages(account, "cost", count)
    simulator = run.start_simulator(port)
    try:
        data.conversions(account, messages)
        ids = list(Conversion.objects.filter(message__account=account).order_by("pk").values_list("pk", flat=True))
        measure(account, ids)
    finally:
        simulator.terminate()


def measure(account: ProviderAccount, ids: list[int]) -> None:
    client, claimed = client_for(account), []
    chunks = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
    cursor = connection.cursor()  # as a worker, one cursor per chunk; here one for all
    started = time.process_time()
    claims = {}
    for chunk in chunks:
        claim = reporting._claim(chunk, timezone.now(), cursor)
        claimed.extend(claim.rows)
        claims.update(dict.fromkeys((row.pk for row in claim.rows), claim))
    print(f"{'claim (per conversion)':<28} {(time.process_time() - started) / len(ids) * 1000:.3f} ms")
    half = len(claimed) // 2
    payloads = [
        {"SmsSdkAppId": account.sdk_app_id, "SerialNo": c.message_id, "ConversionTime": int(c.converted_at.timestamp())}
        for c in claimed[:half]
    ]
    signed = []
    per_item("sign", payloads, lambda p: signed.append(client.signed_request("ReportConversion", p)))
    per_item("HTTP call, pre-signed", signed, lambda s: transport.send(client, "POST", client.endpoint + "/",
                                                                         data=s[1], headers=s[0]).json())  # fmt: skip
    reports = [
        ConversionReport(c.message_id, c.phone, ConversionOutcome(c.status), c.converted_at, c.sent_at)
        for c in claimed[half:]
    ]
    per_item("report_conversion (both)", reports, client.report_conversion)
    per_item("record the outcome", claimed, lambda c: reporting._finish(
        c, claims[c.pk], report_state="reported", provider_request_id="bench", reported_at=timezone.now(),
        last_error="",
    ))  # fmt: skip


if __name__ == "__main__":
    main()
