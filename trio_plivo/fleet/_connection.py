"""One connection to Redis: a Trio stream carrying RESP2, parsed by hiredis' sans-IO reader.

hiredis (by the Redis project) encodes commands (``pack_command``) and parses replies
(``Reader``) without doing any I/O, the way ``websockets`` does for trio_plivo.ws; this module
only moves bytes. A connection is either in step with the server or thrown away: the client
(``_client``) discards it after any failure or cancellation in the middle of an exchange, so no
late reply is ever read as the answer to a later command.
"""

from __future__ import annotations

import select
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeAlias, cast

import hiredis
import trio

from .._exceptions import RedisError, RedisTimeout
from ._url import RedisURL

__all__ = ["CommandArg", "RedisConnection", "Reply", "failures_as_redis_errors"]

#: What a command is made of; ``str`` is sent as UTF-8, numbers in decimal.
CommandArg: TypeAlias = str | bytes | int | float
#: A RESP2 reply, bulk strings decoded as UTF-8; error replies are ``hiredis.ReplyError``.
Reply: TypeAlias = "str | int | list[Reply] | None"

_RECEIVE_BYTES = 65536


class _Incomplete:
    """hiredis' "no complete reply buffered yet" marker (its default, ``False``, is a value)."""


_INCOMPLETE = _Incomplete()


def encode(command: Sequence[CommandArg]) -> bytes:
    # The stub types the argument as a 1-tuple; any length is accepted.
    return cast(bytes, hiredis.pack_command(cast(tuple[str], tuple(command))))


@contextmanager
def failures_as_redis_errors(url: RedisURL, doing: str) -> Iterator[None]:
    """Network and protocol failures while ``doing`` something, as :class:`RedisError` naming the
    server (password masked) and not chaining the original (whose text we already scrubbed)."""
    try:
        yield
    except RedisError:
        raise
    except trio.TooSlowError:
        raise RedisTimeout(f"Redis at {url.redacted()}: timed out {doing}") from None
    except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, hiredis.HiredisError) as e:
        detail = url.scrub(str(e)) or type(e).__name__
        raise RedisError(f"Redis at {url.redacted()}: {doing} failed: {detail}") from None


class RedisConnection:
    """A connected, logged-in stream to one Redis. Not safe for concurrent use: one exchange
    at a time (the client's pool hands each connection to one task)."""

    def __init__(
        self, stream: trio.SocketStream | trio.SSLStream[trio.SocketStream], url: RedisURL
    ):
        self._stream = stream
        self._url = url
        self._reader = hiredis.Reader(encoding="utf-8", errors="replace", notEnoughData=_INCOMPLETE)

    @classmethod
    async def open(cls, url: RedisURL, *, client_name: str | None) -> RedisConnection:
        """Connect, then log in (``AUTH``), choose the database (``SELECT``) and name the
        connection (``CLIENT SETNAME``, shown by ``CLIENT LIST``). The caller bounds the time."""
        with failures_as_redis_errors(url, "connecting"):
            stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]
            stream = await trio.open_tcp_stream(url.host, url.port)
            # A server that vanished without closing (power loss, partition) shows up eventually.
            stream.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_KEEPALIVE, 1)
            if url.tls:
                stream = trio.SSLStream(
                    stream, ssl.create_default_context(), server_hostname=url.host
                )
        setup: list[list[CommandArg]] = []
        if url.password is not None:
            login = [url.username] if url.username else []
            setup.append(["AUTH", *login, url.password])
        if url.db:
            setup.append(["SELECT", url.db])
        if client_name:
            setup.append(["CLIENT", "SETNAME", client_name])
        connection = cls(stream, url)
        try:
            replies = await connection.exchange(setup, doing="logging in")
        except BaseException:
            await connection.aclose()
            raise
        refused = [reply for reply in replies if isinstance(reply, hiredis.ReplyError)]
        if refused:
            await connection.aclose()
            # Redis' own words ("WRONGPASS invalid username-password pair ..."), never the
            # password itself; scrubbed anyway.
            raise RedisError(
                f"Redis at {url.redacted()}: login refused: {url.scrub(str(refused[0]))}"
            )
        return connection

    async def send(self, commands: Sequence[Sequence[CommandArg]], *, doing: str) -> None:
        """Write ``commands`` in one go (pipelined)."""
        with failures_as_redis_errors(self._url, doing):
            await self._stream.send_all(b"".join(encode(command) for command in commands))

    async def receive(self, *, doing: str) -> Reply | hiredis.ReplyError:
        """The next reply. Safe to cancel while waiting: Trio's ``receive_some`` either returns
        bytes (then fed to the parser) or nothing at all, so no byte is lost."""
        with failures_as_redis_errors(self._url, doing):
            while True:
                reply = self._reader.gets()
                if reply is not _INCOMPLETE:
                    return cast("Reply | hiredis.ReplyError", reply)
                data = await self._stream.receive_some(_RECEIVE_BYTES)
                if not data:
                    raise RedisError(f"Redis at {self._url.redacted()}: connection closed")
                self._reader.feed(data if isinstance(data, bytes) else bytes(data))

    async def exchange(
        self, commands: Sequence[Sequence[CommandArg]], *, doing: str
    ) -> list[Reply | hiredis.ReplyError]:
        """Send ``commands`` at once and read one reply per command, in order."""
        if not commands:
            return []
        await self.send(commands, doing=doing)
        return [await self.receive(doing=doing) for _ in commands]

    def still_usable(self) -> bool:
        """Whether this idle connection can carry the next command. The server says nothing
        unasked, so a readable byte (or end of stream) means it closed the connection (``CLIENT
        KILL``, a restart, an idle timeout) or is out of step. One non-blocking ``select``."""
        if self._reader.has_data():
            return False
        stream = self._stream
        socket_stream = stream if isinstance(stream, trio.SocketStream) else stream.transport_stream
        try:
            readable, _, _ = select.select([socket_stream.socket.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    async def aclose(self) -> None:
        """Close at once, without a goodbye: also used on a connection we no longer trust."""
        await trio.aclose_forcefully(self._stream)
