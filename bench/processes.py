"""Helpers the benchmarks share: free ports, the provider simulator beside them, CPU time of processes."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
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
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def family_cpu_seconds(command_name: str) -> float:
    """CPU time used so far by the processes called `command_name` (e.g. PostgreSQL's postmaster and
    backends), those that have ended included: an ended backend's time is in its parent's counts
    of waited-for children (cutime, cstime), so the difference of two readings is exact however
    short-lived the processes in between were."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command_name:
                    stats[int(entry.name)] = _stat(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                pass  # ended while we looked
    ticks = 0
    for fields in stats.values():
        ticks += int(fields[11]) + int(fields[12])
        if int(fields[1]) not in stats:  # the family's root: add the children it has waited for
            ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def children_cpu_seconds() -> float:
    """CPU time of this process's children that have ended and been waited for (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
