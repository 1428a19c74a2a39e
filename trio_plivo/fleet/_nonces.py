"""Replay protection: has this request's nonce been seen within the window?

A signed webhook (Plivo's V3 signature covers a nonce) can be captured and sent again; its
signature stays valid. Remembering each nonce for a window turns a replay into a refusal. One
process can remember them itself (:class:`LocalNonceCache`); a fleet behind a load balancer must
share them (:class:`RedisNonceCache`), or a replay landing on another worker gets through.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

import trio

from .._exceptions import ConfigurationError
from ._client import RedisClient, open_redis
from ._entered_once import EnteredOnce
from ._keys import FleetKeys, nonce_digest
from ._url import RedisURL

__all__ = ["LocalNonceCache", "NonceCache", "RedisNonceCache"]


class NonceCache(Protocol):
    """Anything that can tell whether a nonce was already seen within its window."""

    async def seen_before(self, nonce: str) -> bool:
        """Record ``nonce`` and tell whether it had been seen within the window (a replay)."""
        ...


def _check_window(window_s: float) -> None:
    if not window_s >= 0.001:
        raise ConfigurationError(f"window_s must be at least 1 ms, not {window_s!r}")


class LocalNonceCache:
    """The nonces one process saw in the last ``window_s`` seconds, at most ``max_entries``.

    When full, the oldest nonce is forgotten first (a replay of it would then get through: size
    ``max_entries`` above the requests a window can bring). ``clock`` defaults to Trio's, so
    :class:`trio.testing.MockClock` drives it in tests. Nonces are kept as 16-byte digests.
    """

    def __init__(
        self,
        window_s: float = 600.0,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        _check_window(window_s)
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1, not {max_entries!r}")
        self.window_s = window_s
        self.max_entries = max_entries
        self._clock = clock
        # Digest -> when first seen; insertion order is time order, oldest first.
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    async def seen_before(self, nonce: str) -> bool:
        """Record ``nonce``; ``True`` if it was already seen within the window."""
        await trio.lowlevel.checkpoint()
        return self.seen_before_now(nonce)

    def seen_before_now(self, nonce: str) -> bool:
        """:meth:`seen_before` without yielding (for a synchronous route)."""
        now = self._clock()
        while self._seen:
            oldest, first_seen = next(iter(self._seen.items()))
            if now - first_seen < self.window_s:
                break
            del self._seen[oldest]
        key = nonce_digest(nonce)
        if key in self._seen:
            return True
        self._seen[key] = now
        if len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return False


class RedisNonceCache(EnteredOnce):
    """The nonces the whole fleet saw in the last ``window_s`` seconds, in Redis.

    One atomic ``SET key 1 NX PX window`` per nonce: of two workers receiving the same request
    at the same moment, exactly one sees it as new. Keys expire by themselves. Use as
    ``async with RedisNonceCache(url) as nonces:``; :meth:`seen_before` raises
    :class:`~trio_plivo.fleet.RedisError` when Redis cannot answer, and the caller decides whether
    that refuses the request (safe) or lets it through (available).
    """

    def __init__(
        self,
        url: str,
        window_s: float = 600.0,
        *,
        namespace: str = "trio-plivo",
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        max_connections: int = 8,
    ) -> None:
        _check_window(window_s)
        self._url = RedisURL.parse(url)
        self._keys = FleetKeys(namespace)
        self.window_s = window_s
        self._options = (connect_timeout, read_timeout, max_connections)
        self._client: RedisClient | None = None

    def __repr__(self) -> str:
        return f"<RedisNonceCache window={self.window_s:g}s redis={self._url.redacted()!r}>"

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[None]:
        connect_timeout, read_timeout, max_connections = self._options
        async with open_redis(
            self._url,
            client_name="trio-plivo:nonces",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_connections=max_connections,
        ) as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None

    async def seen_before(self, nonce: str) -> bool:
        """Record ``nonce`` fleet-wide; ``True`` if any node saw it within the window."""
        if self._client is None:
            raise RuntimeError("use `async with RedisNonceCache(...)` before seen_before()")
        window_ms = max(1, math.ceil(self.window_s * 1000))
        key = self._keys.nonce(nonce)
        stored = await self._client.execute("SET", key, "1", "NX", "PX", window_ms)
        return stored is None  # NX: not stored because the key was there
