"""Which process serves which call, across every worker of every machine, kept in Redis."""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import NoReturn

import attrs
import trio

from .._exceptions import ConfigurationError, RedisError
from ._client import RedisClient, open_redis
from ._connection import CommandArg
from ._entered_once import EnteredOnce
from ._entries import CallEntry, decode_entry, encode_entry
from ._keys import FleetKeys
from ._routing import CommandHandler, CommandRouter
from ._url import RedisURL

__all__ = ["RedisCallDirectory", "default_node_id"]

log = logging.getLogger("trio_plivo.fleet")

#: A node silent for this long (or ten TTLs, if longer) leaves the index of nodes.
_FORGET_NODE_AFTER_S = 3600.0
_MIN_TTL_S = 0.5
_WITHDRAW_S = 1.0


def default_node_id() -> str:
    """``hostname:pid``: unique per process across a fleet of machines with distinct names."""
    return f"{socket.gethostname()}:{os.getpid()}"


@attrs.frozen
class _Local:
    entry: CallEntry
    payload: str


class RedisCallDirectory(EnteredOnce):
    """The fleet's shared directory of live calls, and the way to reach the node serving one.

    Each process (a *node*) holds one directory, under a ``node_id`` unique in the fleet (see
    :func:`default_node_id`), and registers the calls it serves. Every node can then list the
    fleet's calls, find which node serves a call (by call id or stream id) and send that node a
    command, which the node runs in its :meth:`serve_commands` handler::

        async with RedisCallDirectory("redis://:secret@redis:6379/0", default_node_id()) as fleet:
            nursery.start_soon(fleet.serve_commands, handle_command)
            await fleet.register(call.call_id, call.stream_id, {"from": caller})
            ...
            reply = await fleet.send_command(await fleet.owner_of(call_id), {"op": "hangup"})

    Entries live in Redis with a time to live of ``ttl`` seconds and are rewritten every
    ``ttl / 3`` by a background task, so the calls of a process that died (no clean exit)
    disappear from the fleet within ``ttl``; leaving the ``async with`` block (cancelled or
    not) removes them at once. The node's own
    registrations are the truth: every refresh rewrites its entries from them, which also heals
    Redis being restarted or flushed.

    Entering the directory connects (AUTH, SELECT) and fails fast with
    :class:`~trio_plivo.fleet.RedisError` if Redis is unreachable; afterwards a Redis outage
    makes the operations raise :class:`~trio_plivo.fleet.RedisError` while the background tasks
    log, wait and retry: it never ends the directory.
    """

    def __init__(
        self,
        url: str,
        node_id: str,
        *,
        ttl: float = 30.0,
        namespace: str = "trio-plivo",
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        max_connections: int = 16,
        max_concurrent_commands: int = 32,
    ) -> None:
        if not node_id or any(c.isspace() for c in node_id):
            raise ConfigurationError(f"node_id must be a non-empty word, not {node_id!r}")
        if not ttl >= _MIN_TTL_S:
            raise ConfigurationError(f"ttl must be at least {_MIN_TTL_S} s, not {ttl!r}")
        self._url = RedisURL.parse(url)
        self._keys = FleetKeys(namespace)
        self._timeouts = (connect_timeout, read_timeout)
        self._max_connections = max_connections
        self._max_concurrent_commands = max_concurrent_commands
        #: This process's id in the fleet.
        self.node_id = node_id
        #: Seconds an entry outlives its node's last refresh.
        self.ttl = ttl
        self._local: dict[str, _Local] = {}
        # Writes reach Redis in the order they were made here, so a refresh never resurrects an
        # entry unregistered while it was in flight, nor drops one registered meanwhile.
        self._write_lock = trio.Lock()
        self._client: RedisClient | None = None
        self._router: CommandRouter | None = None

    def __repr__(self) -> str:
        return f"<RedisCallDirectory node={self.node_id!r} redis={self._url.redacted()!r}>"

    # -- lifetime ------------------------------------------------------------------------------

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[None]:
        connect_timeout, read_timeout = self._timeouts
        body_error: Exception | None = None
        async with open_redis(
            self._url,
            client_name=f"trio-plivo:{self.node_id}",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_connections=self._max_connections,
        ) as client:
            self._client = client
            self._router = router = CommandRouter(
                client,
                self._keys,
                self.node_id,
                max_concurrent_commands=self._max_concurrent_commands,
            )
            await self._refresh()  # also clears what a previous run of this node left
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(router.listen_for_replies)
                    nursery.start_soon(self._refresh_forever)
                    try:
                        yield
                    except Exception as error:
                        body_error = error
                    finally:
                        nursery.cancel_scope.cancel()
            finally:
                # Also when cancelled (a server shutting down): the other nodes should not list
                # these calls for another TTL. Best effort, briefly; the TTL covers a failure.
                with trio.CancelScope(shield=True), trio.move_on_after(_WITHDRAW_S):
                    try:
                        await self._withdraw()
                    except RedisError as error:
                        log.warning("node %r left its calls to expire: %s", self.node_id, error)
        if body_error is not None:
            raise body_error

    def _connected(self) -> tuple[RedisClient, CommandRouter]:
        if self._client is None or self._router is None:
            raise RuntimeError("use `async with RedisCallDirectory(...)` before its operations")
        return self._client, self._router

    # -- this node's calls ---------------------------------------------------------------------

    async def register(
        self, call_id: str, stream_id: str, info: Mapping[str, object] | None = None
    ) -> CallEntry:
        """Announce that this node serves ``call_id`` (also found by ``stream_id``).

        ``info`` must hold JSON values (:class:`~trio_plivo.ConfigurationError` otherwise).
        Registering a call id again replaces its entry. If Redis cannot be reached this raises
        :class:`~trio_plivo.fleet.RedisError`, but the call stays registered here and the next
        refresh publishes it: a caller may log the error and carry on with the call.
        """
        client, _ = self._connected()
        entry = CallEntry(call_id, stream_id, self.node_id, dict(info or {}), time.time())
        payload = encode_entry(entry)
        previous = self._local.get(call_id)
        self._local[call_id] = _Local(entry, payload)
        ttl_ms = self._ttl_ms
        commands: list[tuple[CommandArg, ...]] = []
        if previous is not None and previous.entry.stream_id != stream_id:
            commands.append(("DEL", self._keys.owner(previous.entry.stream_id)))
        calls_key = self._keys.calls(self.node_id)
        commands += [
            ("HSET", calls_key, call_id, payload),
            ("PEXPIRE", calls_key, ttl_ms),
            ("SET", self._keys.owner(call_id), self.node_id, "PX", ttl_ms),
            ("SET", self._keys.owner(stream_id), self.node_id, "PX", ttl_ms),
            ("ZADD", self._keys.nodes, time.time(), self.node_id),
        ]
        async with self._write_lock:
            await client.pipeline(commands, transaction=True)
        return entry

    async def unregister(self, call_id: str) -> None:
        """Withdraw ``call_id`` (a call this node no longer serves); unknown ids are ignored."""
        client, _ = self._connected()
        gone = self._local.pop(call_id, None)
        if gone is None:
            return
        commands: list[tuple[CommandArg, ...]] = [
            ("HDEL", self._keys.calls(self.node_id), call_id),
            ("DEL", self._keys.owner(call_id), self._keys.owner(gone.entry.stream_id)),
        ]
        async with self._write_lock:
            await client.pipeline(commands, transaction=True)

    @property
    def local_calls(self) -> list[CallEntry]:
        """The calls this node has registered (no Redis round trip)."""
        return [local.entry for local in self._local.values()]

    @property
    def _ttl_ms(self) -> int:
        return max(1, math.ceil(self.ttl * 1000))

    async def _refresh(self) -> None:
        """Make Redis hold exactly this node's registrations, for another ``ttl``."""
        client, _ = self._connected()
        ttl_ms, now = self._ttl_ms, time.time()
        calls_key = self._keys.calls(self.node_id)
        forget_before = now - max(_FORGET_NODE_AFTER_S, 10 * self.ttl)
        async with self._write_lock:
            commands: list[tuple[CommandArg, ...]] = [("DEL", calls_key)]
            if self._local:
                fields = [part for cid, c in self._local.items() for part in (cid, c.payload)]
                commands += [("HSET", calls_key, *fields), ("PEXPIRE", calls_key, ttl_ms)]
            for local in self._local.values():
                for alias in (local.entry.call_id, local.entry.stream_id):
                    commands.append(("SET", self._keys.owner(alias), self.node_id, "PX", ttl_ms))
            commands += [
                ("ZADD", self._keys.nodes, now, self.node_id),
                ("ZREMRANGEBYSCORE", self._keys.nodes, "-inf", forget_before),
            ]
            await client.pipeline(commands, transaction=True)

    async def _refresh_forever(self) -> NoReturn:
        failing = False
        while True:
            await trio.sleep(self.ttl / 3)
            try:
                await self._refresh()
            except RedisError as error:
                if not failing:
                    log.warning("node %r cannot refresh its calls: %s", self.node_id, error)
                failing = True
            else:
                if failing:
                    log.info("node %r refreshes its calls again", self.node_id)
                failing = False

    async def _withdraw(self) -> None:
        client, _ = self._connected()
        async with self._write_lock:
            aliases = [
                self._keys.owner(alias)
                for local in self._local.values()
                for alias in (local.entry.call_id, local.entry.stream_id)
            ]
            commands: list[tuple[CommandArg, ...]] = [
                ("DEL", self._keys.calls(self.node_id), *aliases),
                ("ZREM", self._keys.nodes, self.node_id),
            ]
            await client.pipeline(commands, transaction=True)

    # -- the fleet -----------------------------------------------------------------------------

    async def list_calls(self) -> list[CallEntry]:
        """Every live call of the fleet, oldest registration first."""
        client, _ = self._connected()
        nodes = _strings(await client.execute("ZRANGE", self._keys.nodes, 0, -1))
        tables = await client.pipeline([("HGETALL", self._keys.calls(node)) for node in nodes])
        entries = []
        for node, table in zip(nodes, tables, strict=True):
            flat = _strings(table)
            for text in flat[1::2]:  # HGETALL answers field, value, field, value ...
                if (entry := decode_entry(text, node)) is not None:
                    entries.append(entry)
        return sorted(entries, key=lambda entry: entry.registered_at)

    async def owner_of(self, call_or_stream_id: str) -> str | None:
        """The node serving that call (given its call id or its stream id), or ``None``."""
        client, _ = self._connected()
        node = await client.execute("GET", self._keys.owner(call_or_stream_id))
        return node if isinstance(node, str) else None

    # -- commands ------------------------------------------------------------------------------

    async def serve_commands(
        self,
        handler: CommandHandler,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> NoReturn:
        """Run ``handler`` on every command sent to this node, each in its own task (at most
        ``max_concurrent_commands`` at once), and send back what it returns.

        ``handler(command)`` gets the command dict and returns the reply (JSON values). If it
        raises a trio-plivo error, the requester's :meth:`send_command` raises
        :class:`~trio_plivo.fleet.CommandFailed` with that error's message; any other exception is
        logged here with its traceback and reported to the requester without details.
        Started with ``await nursery.start(directory.serve_commands, handler)`` it returns once
        subscribed. Runs until cancelled, re-subscribing by itself after Redis outages.
        """
        _, router = self._connected()
        await router.serve(handler, task_status=task_status)

    async def send_command(
        self,
        node: str,
        command: Mapping[str, object],
        *,
        # Part of the contract, not a cancellation: the node may still run the command, and
        # the precise CommandTimeout is what a control API turns into a 504.
        timeout: float = 2.0,  # noqa: ASYNC109
    ) -> dict[str, object]:
        """Run ``command`` (JSON values) on ``node``'s handler and return its reply.

        Raises :class:`~trio_plivo.fleet.NodeUnavailable` at once if no process serves that
        node, :class:`~trio_plivo.fleet.CommandTimeout` if no reply came within ``timeout``
        seconds (the command may still run there), :class:`~trio_plivo.fleet.CommandFailed` if
        the handler failed, :class:`~trio_plivo.fleet.RedisError` if Redis could not carry it.
        """
        _, router = self._connected()
        return await router.send(node, command, timeout)


def _strings(reply: object) -> list[str]:
    """The strings of an array reply (anything else in it, or no array, counts as empty)."""
    if not isinstance(reply, list):
        return []
    return [item for item in reply if isinstance(item, str)]
