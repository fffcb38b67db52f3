"""Work through ordered groups with a few threads, keeping a resume cursor that never skips work.

The cursor names the last key before which every group is finished ("after"), the finished groups
beyond it ("done", at most WINDOW of them: a worker does not run further ahead of the oldest
unfinished group), and the pages already finished of groups in progress ("partial"). A run that
resumes from it skips exactly the finished groups and pages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from django.db import connections

WINDOW = 64  # how far workers may run ahead of the oldest unfinished group


class OrderedProgress:
    def __init__(self, keys: Sequence[str], cursor: dict):
        self.keys = list(keys)
        self.after = cursor.get("after", "")
        self.done = set(cursor.get("done", []))
        self.partial: dict[str, dict] = dict(cursor.get("partial", {}))
        self.head = 0  # index of the oldest unfinished group in keys
        self.lock = threading.RLock()  # held across the cursor's write, so it never goes back

    @staticmethod
    def pending(keys: Sequence[str], cursor: dict) -> list[str]:
        after, done = cursor.get("after", ""), set(cursor.get("done", []))
        return [key for key in keys if key > after and key not in done]

    def start(self, key: str) -> tuple[int, str]:
        """The page to start this group at, and the provider's paging cursor for it."""
        state = self.partial.get(key)
        return (int(state["page"]) + 1, state.get("next", "")) if state else (1, "")

    def page_finished(self, key: str, page: int, next_cursor: str) -> dict:
        self.partial[key] = {"page": page, "next": next_cursor}
        return self.cursor()

    def group_finished(self, key: str) -> dict:
        self.partial.pop(key, None)
        self.done.add(key)
        while self.head < len(self.keys) and self.keys[self.head] in self.done:
            self.after = self.keys[self.head]
            self.done.discard(self.after)
            self.head += 1
        return self.cursor()

    def cursor(self) -> dict:
        return {"after": self.after, "done": sorted(self.done), "partial": dict(self.partial)}


def run_ordered(items: Sequence, work: Callable, *, progress: OrderedProgress, workers: int) -> None:
    """Call work(item) for every item, on `workers` threads (1: in this thread). The first error
    stops new items from starting and is raised once the running ones are finished."""
    state = {"next": 0, "failure": None}
    turn = threading.Condition()

    def take():
        with turn:
            while state["failure"] is None and state["next"] < len(items) and state["next"] - progress.head >= WINDOW:
                turn.wait(0.1)
            if state["failure"] is not None or state["next"] >= len(items):
                return None
            state["next"] += 1
            return items[state["next"] - 1]

    def loop():
        while (item := take()) is not None:
            try:
                work(item)
            except BaseException as error:  # noqa: B036 - a crash too must stop the other threads
                with turn:
                    state["failure"] = state["failure"] or error
                    turn.notify_all()
                return
            with turn:
                turn.notify_all()

    if workers <= 1:
        loop()
    else:
        threads = [threading.Thread(target=_closing(loop), name=f"sync-{n}") for n in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if state["failure"] is not None:
        raise state["failure"]


def _closing(loop: Callable) -> Callable:
    def run():
        try:
            loop()
        finally:
            connections.close_all()  # this thread's own database connections

    return run
