"""A small HTTP/1.1 load generator (asyncio, keep-alive, raw sockets): little CPU per request, so
more of the 2 cores is left to the server under test.

Closed loop (`rate=None`): `concurrency` connections send back to back. Paced (`rate=N`): request i
is due at start + i/N and its latency counts from that due time, so a server that falls behind
is charged for the queueing (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    items: int = 0
    elapsed: float = 0.0
    exhausted: bool = False

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")

    def summary(self) -> dict:
        return {
            "requests": len(self.latencies),
            "requests_per_s": round(len(self.latencies) / self.elapsed, 1),
            "items_per_s": round(self.items / self.elapsed, 1),
            "p50_ms": round(self.percentile(0.50), 1),
            "p99_ms": round(self.percentile(0.99), 1),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 1) if self.latencies else None,
            "statuses": dict(sorted(self.statuses.items())),
            "exhausted": self.exhausted,
        }


def _request(host: str, port: int, path: str, body: bytes, token: str | None, headers: dict | None = None) -> bytes:
    extra = {"Authorization": f"Bearer {token}"} if token else {}
    extra.update(headers or {})
    lines = "".join(
        f"{name}: {value}\r\n" for name, value in extra.items() if name.lower() not in ("host", "content-type")
    )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{lines}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    await reader.readexactly(int(headers.get("content-length", 0)))
    return status, headers.get("connection", "").lower() == "close"


async def _connection(host, port, path, token, make_body, counter, result, stop_at, start, rate, items_per):
    reader = writer = None
    while True:
        i = next(counter)
        due = start + i / rate if rate else time.perf_counter()
        if due >= stop_at:
            break
        if rate and due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())
        body, headers = make_body(i), None
        if isinstance(body, tuple):  # (body, headers): a signed provider request
            body, headers = body
        if body is None:  # the data set is used up: stop early rather than send duplicates
            result.exhausted = True
            break
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        sent = due if rate else time.perf_counter()
        writer.write(_request(host, port, path, body, token, headers))
        await writer.drain()
        status, close = await _read_response(reader)
        result.latencies.append(time.perf_counter() - sent)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        result.items += items_per
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _run(host, port, path, token, make_body, *, seconds, concurrency, rate, items_per) -> Result:
    result = Result()
    counter = itertools.count()
    start = time.perf_counter()
    stop_at = start + seconds
    tasks = [
        _connection(host, port, path, token, make_body, counter, result, stop_at, start, rate, items_per)
        for _ in range(concurrency)
    ]
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    return result


def run(
    host: str,
    port: int,
    path: str,
    token: str | None,
    make_body: Callable[[int], bytes | tuple[bytes, dict] | None],
    *,
    seconds: float,
    concurrency: int,
    rate: float | None = None,
    items_per: int = 1,
) -> Result:
    return asyncio.run(
        _run(
            host, port, path, token, make_body, seconds=seconds, concurrency=concurrency, rate=rate, items_per=items_per
        )
    )
