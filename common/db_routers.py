"""Read-only queries of the read paths go to a read replica, when one is configured.

``DATABASE_REPLICA_URL`` adds the ``replica`` database alias (recommender/settings.py); without
it everything runs on ``default``, as before. Reads go to the replica only where a read path
asks for it with ``replica_reads`` (a context manager and a decorator), and never:

- for writes: they always go to ``default``;
- inside a transaction on ``default``: what it just wrote must be read back, and the replica
  is a little behind;
- anywhere else: a service that reads and then writes what it read (recommendations store
  what they serve, feedback locks its row, plays are deduplicated against stored ones) keeps
  reading the primary, so a replica's lag can never make it serve a song twice or count a
  play twice.

A replica is PostgreSQL's own streaming replication of the primary; this only routes.
"""

from __future__ import annotations

from contextlib import ContextDecorator
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA_DB_ALIAS = "replica"

_reads_may_use_replica: ContextVar[bool] = ContextVar("reads_may_use_replica", default=False)


class replica_reads(ContextDecorator):  # noqa: N801 - used like a function: @replica_reads()
    """Within it, reads outside a transaction go to the replica (when there is one)."""

    def __enter__(self) -> replica_reads:
        self._token = _reads_may_use_replica.set(True)
        return self

    def __exit__(self, *exc_info) -> None:
        _reads_may_use_replica.reset(self._token)


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in connections.settings


class ReadReplicaRouter:
    """Sends reads inside ``replica_reads`` to the replica; everything else to ``default``."""

    def db_for_read(self, model, **hints) -> str | None:
        if (
            _reads_may_use_replica.get()
            and replica_configured()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA_DB_ALIAS
        return None  # the next router, then default

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # One database seen twice: an object read from the replica may point at one from
        # default.
        aliases = {DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        # The replica follows the primary's schema by replication.
        return False if db == REPLICA_DB_ALIAS else None
