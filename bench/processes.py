"""Helpers the benchmarks share: free ports, the provider simulator beside them, CPU time of processes."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(port: int) -> subprocess.Popen:
    """`simulate_providers` in its own process, without the database; returns once it answers."""
    command = [sys.executable, "manage.py", "simulate_providers", "--port", str(port), "--no-database"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/_simulator/stats", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the simulator did not start")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a running process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _cpu_by_pid(command_name: str) -> dict[int, float]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command_name:
                    found[int(entry.name)] = cpu_seconds(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                pass  # ended while we looked
    return found


class CpuSampler:
    """CPU time used by every process called `command_name` (e.g. PostgreSQL's backends) between
    start() and stop(). Sampled every `interval` s, so a process that ends in between (a worker's
    backend) counts up to its last sample."""

    def __init__(self, command_name: str, interval: float = 0.25):
        self.command_name, self.interval = command_name, interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> CpuSampler:
        self._first = _cpu_by_pid(self.command_name)
        self._thread.start()
        return self

    def stop(self) -> float:
        """Seconds of CPU used since start()."""
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(cpu - self._first.get(pid, 0.0) for pid, cpu in self._last.items())

    def _sample(self) -> None:
        self._last.update(_cpu_by_pid(self.command_name))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()


def children_cpu_seconds() -> float:
    """CPU time of this process's children that have ended and been waited for (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
