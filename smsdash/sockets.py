"""Socket helpers shared by the provider clients' HTTP connections and the database backend."""

from __future__ import annotations

import select


def closed_by_peer(connection) -> bool:
    """Whether an idle keep-alive connection (a socket, or anything with fileno()) was closed, or
    broken, by the other side: nothing else arrives unasked on it, so readable means ended."""
    poller = select.poll()
    poller.register(connection, select.POLLIN)
    return bool(poller.poll(0))
