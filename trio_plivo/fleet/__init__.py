"""State shared by every process of a fleet, through one Redis: which process serves which
call, commands routed to it, and the replay cache of signed webhooks.

Talks to Redis (or Valkey, or anything speaking RESP2) with a small Trio client of its own over
hiredis' sans-IO protocol parser: a connection pool, pipelines and ``MULTI``/``EXEC``
transactions, pub/sub, timeouts, and a reconnect before the next command when the server closed
a connection.

* :class:`RedisCallDirectory`: register this process's calls, list the fleet's, find a call's
  node by call id or stream id, send that node a command and get its reply.
* :class:`RedisNonceCache` (fleet-wide) and :class:`LocalNonceCache` (one process), both
  :class:`NonceCache`: ``await cache.seen_before(nonce)`` is ``True`` for a replay.
* :class:`RedisURL`: ``redis://[[user]:password@]host[:port][/db]`` (``rediss://`` for TLS),
  checked before anything connects and shown with the password masked.

Errors are :class:`FleetError` and its subclasses (:class:`RedisError`, :class:`RedisTimeout`,
:class:`NodeUnavailable`, :class:`CommandTimeout`, :class:`CommandFailed`), defined in
trio_plivo._exceptions with the rest of the hierarchy and re-exported here.
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
from ._directory import RedisCallDirectory, default_node_id
from ._entries import CallEntry
from ._nonces import LocalNonceCache, NonceCache, RedisNonceCache
from ._routing import CommandHandler
from ._url import RedisURL

__all__ = [
    "CallEntry",
    "CommandFailed",
    "CommandHandler",
    "CommandTimeout",
    "FleetError",
    "LocalNonceCache",
    "NodeUnavailable",
    "NonceCache",
    "RedisCallDirectory",
    "RedisError",
    "RedisNonceCache",
    "RedisTimeout",
    "RedisURL",
    "default_node_id",
]
