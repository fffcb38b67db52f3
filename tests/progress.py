"""Waiting on workers and processes by their progress, never by a wall-clock budget.

A test that gives a worker N seconds in all measures the machine: on a busy CI runner a healthy
worker misses the deadline, on an idle one a slow leak passes. These helpers poll a measure of
progress instead (rows reported, bytes logged, CPU used, seconds left before a scheduled job is
due) and fail only when it has not moved for `stall_seconds`, naming what was stuck and where:

    wait_for_progress(reported, lambda n: n == 1000, what="conversions reported")
    wait_for_progress(measure, done, step=run_one_burst, what=..., details=lambda: log[-2000:])

`measure` returns a hashable value (a number, a tuple); `done(value)` says when to stop; `step`
runs between samples (an in-process burst worker), otherwise the helper sleeps `interval`.
Progress is a value not seen before: a measure going round in a loop (a circuit breaker probing
forever, a countdown to the same retry again and again) stalls just as a frozen one does.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STALL_SECONDS = 30.0  # nothing moving for this long is a hang, however busy the machine
STALLED = "{what} made no progress for {seconds:g} s; last value: {value!r}"


def wait_for_progress(
    measure: Callable[[], Any],
    done: Callable[[Any], bool],
    *,
    what: str,
    stall_seconds: float = STALL_SECONDS,
    step: Callable[[], None] | None = None,
    interval: float = 0.1,
    details: Callable[[], str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Sample measure() until done(value); return the last value. Fail when it stalls."""
    value = measure()
    seen, moved_at = {value}, clock()
    while not done(value):
        if step is not None:
            step()
        sleep(interval)
        value = measure()
        if value not in seen:
            seen.add(value)
            moved_at = clock()
        elif clock() - moved_at >= stall_seconds:
            message = STALLED.format(what=what, seconds=stall_seconds, value=value)
            raise AssertionError(message + (f"\n{details()}" if details else ""))
    return value


def countdown(due_in: float | None, *, horizon: float = STALL_SECONDS) -> float | None:
    """Seconds left before something scheduled is due, as a measure that moves while time passes.

    Waiting out a retry's backoff is progress, but only up to `horizon`: a job scheduled further
    away reads as a constant, so a wrong schedule (an hour instead of a second) still stalls; and
    a countdown repeating values already seen (the same short retry, again) is no progress.
    """
    if due_in is None:
        return None
    return round(min(max(due_in, 0.0), horizon), 1)


def cpu_ticks(pid: int) -> int:
    """CPU a process and its reaped children have used, in clock ticks (Linux /proc): it moves
    while a process starts up or computes, and stops when it hangs waiting on nothing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return -1  # gone: a change the caller sees
    utime, stime, cutime, cstime = (int(fields[i]) for i in range(11, 15))
    return utime + stime + cutime + cstime


def wait_for_exit(process, *, what: str, measure: Callable[[], Any] | None = None, **options) -> int:
    """Wait for a subprocess.Popen to end; its CPU (and measure(), if given) is its progress."""

    def sample() -> tuple:
        return (process.poll(), cpu_ticks(process.pid), measure() if measure else None)

    wait_for_progress(sample, lambda value: value[0] is not None, what=what, **options)
    return process.returncode


def descendants(pid: int) -> list[int]:
    """Every process below pid (Linux /proc), whatever its process group: rq's work horse leaves
    the worker's session, so killing the group alone leaves it running."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(process, *, what: str) -> None:
    """SIGKILL to a subprocess.Popen and everything below it, at once: as when its machine dies."""
    for pid in [process.pid, *descendants(process.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for_exit(process, what=what)
