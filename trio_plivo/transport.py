"""The transport seam: what a :class:`~trio_plivo.Call` needs from a WebSocket.

A call only ever needs three operations on its connection: receive one message, send a batch
of messages, close. Anything offering them is a :class:`MessageTransport`:

* :class:`trio_plivo.ws.WebSocket` -- our thin driver over the ``websockets`` sans-IO
  protocol on a Trio stream (the fast path the server and simulator use);
* :class:`TrioWebsocketTransport` -- an adapter for a ``trio_websocket.WebSocketConnection``
  that an existing trio-websocket app already accepted;
* :func:`memory_transport_pair` -- two in-memory ends for tests, no sockets at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs
import trio

from ._exceptions import ConnectionClosed

if TYPE_CHECKING:
    import trio_websocket

__all__ = [
    "MemoryTransport",
    "Message",
    "MessageTransport",
    "TrioWebsocketTransport",
    "memory_transport_pair",
]

#: A WebSocket message: ``str`` for a text frame, ``bytes`` for a binary frame.
Message = str | bytes


@runtime_checkable
class MessageTransport(Protocol):
    """A message-oriented, bidirectional connection (a WebSocket, or a stand-in for one)."""

    async def receive_message(self) -> Message:
        """Wait for and return the next complete message.

        Raises :class:`~trio_plivo.ConnectionClosed` once the connection is closed (by
        either side), with the close code when known.
        """
        ...

    async def send_messages(self, messages: Sequence[Message]) -> None:
        """Send ``messages`` in order. Implementations should coalesce them into as few
        writes as they can: the call's sender hands over everything it has queued at once.

        Raises :class:`~trio_plivo.ConnectionClosed` if the connection is closed.
        """
        ...

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with ``code``; idempotent."""
        ...


@attrs.define(eq=False)
class _Closed:
    code: int
    reason: str


@attrs.define(eq=False)
class MemoryTransport:
    """One end of an in-memory message connection; create with :func:`memory_transport_pair`.

    Closing one end makes the other's :meth:`receive_message` raise ``ConnectionClosed`` with
    the same code, after it has received every message sent before the close (like a real
    WebSocket close handshake).
    """

    _send_channel: trio.MemorySendChannel[Message | _Closed]
    _receive_channel: trio.MemoryReceiveChannel[Message | _Closed]
    _closed: _Closed | None = None
    #: Every message this end has sent, when ``record=True`` was asked of the pair.
    sent: list[Message] | None = None
    _peer: MemoryTransport | None = attrs.field(default=None, repr=False)

    @property
    def close_code(self) -> int | None:
        """The close code once this end is closed (by either side), else ``None``."""
        return None if self._closed is None else self._closed.code

    async def receive_message(self) -> Message:
        if self._closed is not None:
            await trio.lowlevel.checkpoint()
            raise ConnectionClosed(
                self._closed.reason or "connection closed", code=self._closed.code
            )
        try:
            item = await self._receive_channel.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            self._closed = _Closed(1006, "peer went away")
            raise ConnectionClosed("peer went away", code=1006) from None
        if isinstance(item, _Closed):
            self._closed = item
            self._send_channel.close()
            raise ConnectionClosed(item.reason or "closed by peer", code=item.code)
        return item

    async def send_messages(self, messages: Sequence[Message]) -> None:
        if self._closed is not None:
            await trio.lowlevel.checkpoint()
            raise ConnectionClosed(
                self._closed.reason or "connection closed", code=self._closed.code
            )
        try:
            for message in messages:
                await self._send_channel.send(message)
                if self.sent is not None:
                    self.sent.append(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            # A peer that closed properly said why, as a WebSocket close frame does; its
            # close is still queued for our reader (after the messages sent before it), so
            # this end stays open for receiving.
            peer_close = None if self._peer is None else self._peer._closed
            if peer_close is not None:
                raise ConnectionClosed(
                    peer_close.reason or "closed by peer", code=peer_close.code
                ) from None
            self._closed = _Closed(1006, "peer went away")
            raise ConnectionClosed("peer went away", code=1006) from None

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        if self._closed is None:
            self._closed = _Closed(code, reason)
            # If the peer is gone or not reading, it sees end-of-channel instead.
            with contextlib.suppress(
                trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError
            ):
                self._send_channel.send_nowait(_Closed(code, reason))
            self._send_channel.close()
        self._receive_channel.close()
        await trio.lowlevel.checkpoint()


def memory_transport_pair(
    max_buffer: int = 256, *, record: bool = False
) -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected in-memory transports (``a`` sends to ``b`` and vice versa).

    ``max_buffer`` bounds each direction (a sender blocks when it is full, like a socket whose
    peer does not read). With ``record=True`` each end keeps a list of what it sent in
    ``.sent``.
    """
    a_to_b_send, a_to_b_recv = trio.open_memory_channel[Message | _Closed](max_buffer)
    b_to_a_send, b_to_a_recv = trio.open_memory_channel[Message | _Closed](max_buffer)
    a = MemoryTransport(a_to_b_send, b_to_a_recv, sent=[] if record else None)
    b = MemoryTransport(b_to_a_send, a_to_b_recv, sent=[] if record else None, peer=a)
    a._peer = b
    return a, b


@attrs.define(eq=False)
class TrioWebsocketTransport:
    """Runs a call over a ``trio_websocket.WebSocketConnection`` an app already has.

    This is the interoperability path: slower than :mod:`trio_plivo.ws` (trio-websocket hands
    every message through a channel and a lock) but it lets a Call live inside an existing
    trio-websocket server.
    """

    connection: trio_websocket.WebSocketConnection

    async def receive_message(self) -> Message:
        import trio_websocket

        try:
            return await self.connection.get_message()
        except trio_websocket.ConnectionClosed as exc:
            reason = exc.reason
            code = getattr(reason, "code", None)
            raise ConnectionClosed(
                getattr(reason, "reason", None) or "connection closed", code=code
            ) from None

    async def send_messages(self, messages: Sequence[Message]) -> None:
        import trio_websocket

        try:
            for message in messages:
                await self.connection.send_message(message)
        except trio_websocket.ConnectionClosed as exc:
            code = getattr(exc.reason, "code", None)
            raise ConnectionClosed("connection closed", code=code) from None

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.aclose(code, reason)
