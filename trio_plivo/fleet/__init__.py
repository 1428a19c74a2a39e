"""State shared by every process of a fleet, through one Redis.

Talks to Redis (or Valkey, or anything speaking RESP2) with a small Trio client of its own over
hiredis' sans-IO protocol parser: a connection pool, pipelines and ``MULTI``/``EXEC``
transactions, pub/sub, timeouts, and a reconnect before the next command when the server closed
a connection.

* :class:`RedisURL`: ``redis://[[user]:password@]host[:port][/db]`` (``rediss://`` for TLS),
  checked before anything connects and shown with the password masked.

Errors are :class:`~trio_plivo.fleet.FleetError` and its subclasses, re-exported here.
"""

from __future__ import annotations

from .._exceptions import (
    CommandFailed,
    CommandTimeout,
    FleetError,
    NodeUnavailable,
    RedisError,
    RedisTimeout,
)
from ._url import RedisURL

__all__ = [
    "CommandFailed",
    "CommandTimeout",
    "FleetError",
    "NodeUnavailable",
    "RedisError",
    "RedisTimeout",
    "RedisURL",
]
