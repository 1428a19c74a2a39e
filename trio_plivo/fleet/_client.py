"""A small pool of Redis connections for Trio tasks: commands, pipelines, transactions.

No background task: connections are opened when a command needs one and none is idle, and
closed with the client. Each exchange holds its connection alone; if it fails or is cancelled
half-way the connection is closed instead of returned, so the pool never holds one out of step
and never loses a slot. An idle connection the server closed is noticed before use and
replaced, so the next command after a ``CLIENT KILL`` or a restart just works. Nothing is
retried: a ``SET NX`` or ``PUBLISH`` sent twice is not the same as sent once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import hiredis
import trio

from .._exceptions import ConfigurationError, RedisError, RedisTimeout
from ._connection import CommandArg, RedisConnection, Reply
from ._url import RedisURL

__all__ = ["RedisClient", "open_redis"]


class RedisClient(trio.abc.AsyncResource):
    """Commands to one Redis over at most ``max_connections`` connections.

    ``connect_timeout`` bounds connecting and logging in; ``read_timeout`` bounds waiting for a
    free connection and, separately, a whole exchange. Exceeding either raises
    :class:`~trio_plivo.fleet.RedisTimeout`; every other failure (unreachable, refused login,
    connection lost, an error reply) raises :class:`~trio_plivo.fleet.RedisError`.
    """

    def __init__(
        self,
        url: RedisURL,
        *,
        client_name: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        max_connections: int = 8,
    ) -> None:
        if max_connections < 1:
            raise ConfigurationError(f"max_connections must be at least 1, not {max_connections}")
        if not (connect_timeout > 0 and read_timeout > 0):
            raise ConfigurationError("connect_timeout and read_timeout must be positive")
        self.url = url
        self._client_name = client_name
        self._connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._slots = trio.Semaphore(max_connections)
        self._idle: list[RedisConnection] = []
        self._closed = False

    def __repr__(self) -> str:
        return f"<RedisClient {self.url.redacted()}>"

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called: commands then raise RedisError."""
        return self._closed

    async def aclose(self) -> None:
        """Close the idle connections; those in use close when their exchange ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.aclose()

    async def connect(self) -> RedisConnection:
        """A new connection of this client's own, outside the pool (for a subscription)."""
        with trio.move_on_after(self._connect_timeout):
            return await RedisConnection.open(self.url, client_name=self._client_name)
        raise RedisTimeout(
            f"Redis at {self.url.redacted()}: no connection within {self._connect_timeout:g} s"
        )

    async def execute(self, *command: CommandArg) -> Reply:
        """Run one command and return its reply; an error reply raises
        :class:`~trio_plivo.fleet.RedisError` with Redis' message."""
        (reply,) = await self.pipeline([command])
        return reply

    async def pipeline(
        self, commands: Sequence[Sequence[CommandArg]], *, transaction: bool = False
    ) -> list[Reply]:
        """Send ``commands`` in one write and return their replies in order.

        With ``transaction=True`` they run as one ``MULTI``/``EXEC`` block: no other client's
        command runs between them. If any reply is an error the whole call raises
        :class:`~trio_plivo.fleet.RedisError` (after reading every reply, so the connection
        stays usable); without a transaction the commands before it did run.
        """
        if not commands:
            return []
        if not transaction:
            return _raise_first_error(await self._exchange(commands), self.url)
        replies = await self._exchange([("MULTI",), *commands, ("EXEC",)])
        executed = replies[-1]
        if isinstance(executed, list):
            return _raise_first_error(executed, self.url)
        # EXECABORT: a command was refused while queueing; its own error says which.
        _raise_first_error(replies[1:-1], self.url)
        _raise_first_error([executed], self.url)
        raise RedisError(f"Redis at {self.url.redacted()}: transaction not executed")

    async def _exchange(
        self, commands: Sequence[Sequence[CommandArg]]
    ) -> list[Reply | hiredis.ReplyError]:
        if self.closed:
            raise RedisError(f"Redis at {self.url.redacted()}: the client is closed")
        with trio.move_on_after(self.read_timeout) as waiting:
            await self._slots.acquire()
        if waiting.cancelled_caught:
            raise RedisTimeout(
                f"Redis at {self.url.redacted()}: no free connection within"
                f" {self.read_timeout:g} s (max_connections too low?)"
            )
        try:
            connection = await self._checkout()
            try:
                with trio.move_on_after(self.read_timeout) as reading:
                    replies = await connection.exchange(commands, doing=_name(commands))
            except BaseException:
                await connection.aclose()  # mid-exchange: out of step with the server
                raise
            if reading.cancelled_caught:
                await connection.aclose()
                raise RedisTimeout(
                    f"Redis at {self.url.redacted()}: no reply to {_name(commands)} within"
                    f" {self.read_timeout:g} s"
                )
            await self._give_back(connection)
            return replies
        finally:
            self._slots.release()

    async def _give_back(self, connection: RedisConnection) -> None:
        if self._closed:  # closed while the connection was in use
            await connection.aclose()
        else:
            self._idle.append(connection)

    async def _checkout(self) -> RedisConnection:
        while self._idle:
            connection = self._idle.pop()
            if connection.still_usable():
                return connection
            await connection.aclose()
        return await self.connect()


def _name(commands: Sequence[Sequence[CommandArg]]) -> str:
    """The command's name for messages (never its arguments: they may be secrets)."""
    first = commands[1 if len(commands) > 1 and commands[0] == ("MULTI",) else 0]
    name = str(first[0]).upper() if first else "?"
    return name if len(commands) == 1 else f"{name} (and {len(commands) - 1} more)"


def _raise_first_error(replies: Sequence[Reply | hiredis.ReplyError], url: RedisURL) -> list[Reply]:
    values: list[Reply] = []
    for reply in replies:
        if isinstance(reply, hiredis.ReplyError):
            raise RedisError(f"Redis at {url.redacted()}: {url.scrub(str(reply))}")
        values.append(reply)
    return values


@asynccontextmanager
async def open_redis(
    url: RedisURL,
    *,
    client_name: str | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 5.0,
    max_connections: int = 8,
) -> AsyncIterator[RedisClient]:
    """A client whose first connection is made, logged in and answered a ``PING``: a wrong
    address or password fails here, with :class:`~trio_plivo.fleet.RedisError`, rather than at
    the first real command."""
    async with RedisClient(
        url,
        client_name=client_name,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_connections=max_connections,
    ) as client:
        await client.execute("PING")
        yield client
