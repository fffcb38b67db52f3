"""Django's PostgreSQL backend with a health check that costs no round trip.

Django checks a persistent connection (CONN_HEALTH_CHECKS) at the start of every request that
uses the database, with a `SELECT 1`: on the ingest API's single conversion that was a third of
its statements (issue 4 benchmark). The check is there for connections the server ended while
they sat idle (a restart, pg_terminate_backend, idle_session_timeout). The server then sends a
last message and closes the socket. So a connection is unusable when its idle socket is readable,
or when the driver already knows it to be closed, broken or in an aborted transaction; it is then
replaced before the request's first query, as with Django's check. What this cannot see is a peer
gone silent without closing (a cut network): Django's `SELECT 1` would then hang until the
operating system's TCP timeout as well.
"""

from __future__ import annotations

from django.db.backends.postgresql import base
from psycopg import pq

from smsdash.sockets import closed_by_peer

# Where Django's SELECT 1 would fail: an aborted transaction, or a connection libpq has lost.
UNUSABLE_STATES = {pq.TransactionStatus.INERROR, pq.TransactionStatus.UNKNOWN}


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status in UNUSABLE_STATES:
            return False
        try:
            return not closed_by_peer(connection)
        except (OSError, ValueError):  # no socket left to ask
            return False
