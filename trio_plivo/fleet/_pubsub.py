"""Redis pub/sub on a connection of its own, read as an async iterator of messages.

A subscribed connection can only (un)subscribe and ``PING``, so it never comes from the pool.
When idle for ``keepalive`` seconds it sends a ``PING``: a connection silently dropped on the
way (a NAT timeout, a dead host) then ends the iteration with
:class:`~trio_plivo.fleet.RedisError` within one more ``keepalive`` instead of waiting forever.
Re-subscribing after a failure is the caller's choice (the command router always does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import attrs
import hiredis
import trio

from .._exceptions import ConfigurationError, RedisError, RedisTimeout
from ._client import RedisClient
from ._connection import RedisConnection, Reply

__all__ = ["Message", "Subscription", "subscribe"]

_CONFIRMATIONS = ("subscribe", "psubscribe")


@attrs.frozen
class Message:
    """One published message."""

    channel: str
    data: str
    #: The pattern it matched, for a pattern subscription.
    pattern: str | None = None


class Subscription:
    """The messages of the channels and patterns subscribed to, in publishing order."""

    def __init__(
        self,
        connection: RedisConnection,
        client: RedisClient,
        keepalive: float,
        early: Sequence[Message] = (),
    ):
        self._connection = connection
        self._client = client
        self._keepalive = keepalive
        self._early = list(early)  # published between two of the subscriptions' confirmations

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        if self._early:
            return self._early.pop(0)
        pinged = False
        while True:
            with trio.move_on_after(self._keepalive) as idle:
                reply = await self._connection.receive(doing="receiving messages")
            if idle.cancelled_caught:
                if pinged:
                    raise RedisError(
                        f"Redis at {self._client.url.redacted()}: subscription went silent"
                    )
                await self._connection.send([("PING",)], doing="keeping the subscription alive")
                pinged = True
                continue
            pinged = False
            if (message := _as_message(reply, self._client)) is not None:
                return message


def _as_message(reply: Reply | hiredis.ReplyError, client: RedisClient) -> Message | None:
    """The message in ``reply``, or ``None`` for the other pushes (confirmations, pongs)."""
    if isinstance(reply, hiredis.ReplyError):
        raise RedisError(f"Redis at {client.url.redacted()}: {client.url.scrub(str(reply))}")
    if not isinstance(reply, list) or not reply:
        return None
    kind, *rest = reply
    if kind == "message" and len(rest) == 2:
        channel, data = rest
        if isinstance(channel, str) and isinstance(data, str):
            return Message(channel, data)
    if kind == "pmessage" and len(rest) == 3:
        pattern, channel, data = rest
        if isinstance(pattern, str) and isinstance(channel, str) and isinstance(data, str):
            return Message(channel, data, pattern)
    return None


@asynccontextmanager
async def subscribe(
    client: RedisClient,
    channels: Sequence[str] = (),
    patterns: Sequence[str] = (),
    *,
    keepalive: float = 30.0,
) -> AsyncIterator[Subscription]:
    """Subscribe on a new connection; entered once Redis confirmed every subscription, so a
    message published after that is received. Leaving closes the connection."""
    if not (channels or patterns):
        raise ConfigurationError("subscribe to at least one channel or pattern")
    connection = await client.connect()
    try:
        commands = []
        if channels:
            commands.append(("SUBSCRIBE", *channels))
        if patterns:
            commands.append(("PSUBSCRIBE", *patterns))
        early: list[Message] = []
        with trio.move_on_after(client.read_timeout) as waiting:
            await connection.send(commands, doing="subscribing")
            confirmed = 0
            while confirmed < len(channels) + len(patterns):
                reply = await connection.receive(doing="subscribing")
                if (message := _as_message(reply, client)) is not None:
                    early.append(message)
                elif isinstance(reply, list) and reply and reply[0] in _CONFIRMATIONS:
                    confirmed += 1
        if waiting.cancelled_caught:
            raise RedisTimeout(f"Redis at {client.url.redacted()}: subscribing timed out")
        yield Subscription(connection, client, keepalive, early)
    finally:
        await connection.aclose()
