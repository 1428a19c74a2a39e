"""The WebSocket connection's write and close path (the read path is in :mod:`._connection`).

Writing. The protocol turns outgoing messages into frames in memory; a batch becomes ONE
write. The receive path also produces bytes (pongs, the echo of a close frame), so two tasks
may want to write at once, which Trio forbids. Writes are serialised by a small write gate
(a flag plus a parking lot: taking it when free costs nothing, and every frame takes it) and
the rule that the holder keeps writing until nothing is pending before it lets go. So the
receive path never waits for the gate: if someone else holds it, its control frames simply
ride along with that task's write.

Cancellation. A frame cut in half can never be followed by another frame, so any exception out
of ``send_all`` marks the connection *broken* (no more writes; closing just drops TCP). To keep
a cancellation that arrives before anything was written from breaking the connection, each
write is preceded by ``checkpoint_if_cancelled()``: it does not yield when not cancelled, so
Trio's own first cancellation point inside ``send_all`` cannot fire either, and a Cancelled
out of ``send_all`` then really means a partial write.

Closing. ``aclose`` sends a close frame, then reads (or lets the blocked reader read) until the
peer's close frame arrives -- and, for a client, until the server drops TCP -- all bounded by
``close_timeout``; then the stream is closed, which also wakes any task still blocked in a
read with :class:`~trio_plivo.ConnectionClosed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, final

import trio
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from .._exceptions import ConnectionClosed

if TYPE_CHECKING:
    from ._socketio import SocketIO, StreamIO

__all__ = ["WriteGate", "WritePath"]

_OPEN: Final = State.OPEN
_CLOSING: Final = State.CLOSING
_CLOSED: Final = State.CLOSED
_SEND_EOF: Final = b""


@final
class WriteGate:
    """A lock for the write side, cheaper than ``trio.Lock`` on the uncontended path (no
    checkpoint, no parking-lot bookkeeping): every frame takes it once. FIFO: ``release``
    hands ownership straight to the first waiter."""

    __slots__ = ("_waiters", "busy")

    def __init__(self) -> None:
        self.busy = False
        self._waiters = trio.lowlevel.ParkingLot()

    async def acquire(self) -> None:
        if self.busy:
            await self._waiters.park()  # woken by release() as the new owner
        else:
            self.busy = True

    def release(self) -> None:
        if self._waiters:
            self._waiters.unpark()
        else:
            self.busy = False


class WritePath:
    """The sending and closing half of :class:`~._connection.WebSocket`."""

    # The write side's own state; the rest is declared by WebSocket.
    __slots__ = (
        "_broken",
        "_close_timeout",
        "_closed_event",
        "_closing",
        "_held_out",
        "_local_close",
        "_pending_out",
        "_stream_closed",
        "_write_lock",
    )

    _broken: bool
    _close_timeout: float
    _closed_event: trio.Event | None
    _closing: bool
    #: The close of a connection failed by the read that also completed messages, held back
    #: until the app has received them (see WebSocket._hold_failure); replies may go first.
    _held_out: list[bytes] | None
    _local_close: bool
    _pending_out: list[bytes]
    _stream_closed: bool
    _write_lock: WriteGate

    if TYPE_CHECKING:
        _io: SocketIO | StreamIO
        _protocol: Protocol
        _stream: trio.abc.Stream

        def _closed_error(self) -> ConnectionClosed: ...
        async def _read_once(self) -> None: ...

    # ----------------------------------------------------------------- send

    async def send_message(self, message: str | bytes) -> None:
        """Send one message (``str`` as a text frame, ``bytes`` as a binary frame)."""
        await self.send_messages((message,))

    async def send_messages(self, messages: Sequence[str | bytes]) -> None:
        """Send ``messages`` in order, all of them in ONE write to the stream.

        A cancellation point, but on a TCP socket it only yields to other tasks when the
        kernel buffer is full. Raises :class:`~trio_plivo.ConnectionClosed` once the
        connection is closing or closed. If cancelled before anything was written, nothing is
        sent and the connection stays usable; cancelled halfway through a write, the
        connection is broken (code 1006).
        """
        lock = self._write_lock
        await lock.acquire()
        try:
            protocol = self._protocol
            if protocol.state is not _OPEN or self._broken or self._stream_closed:
                if self._held_out is None or self._broken or self._stream_closed:
                    await trio.lowlevel.checkpoint()
                    raise self._closed_error()
                await trio.lowlevel.checkpoint_if_cancelled()
                self._pending_out.extend(_replies(protocol, messages))  # ahead of the close
                if not await self._drain_writes():
                    await trio.lowlevel.checkpoint()
                return
            # Checked before the frames exist, so a cancellation here sends nothing at all.
            await trio.lowlevel.checkpoint_if_cancelled()
            for message in messages:
                if isinstance(message, str):
                    protocol.send_text(message.encode())
                else:
                    protocol.send_binary(message)
            if not await self._drain_writes():
                await trio.lowlevel.checkpoint()
        finally:
            lock.release()

    async def _send_held(self) -> None:
        """Write the close held back by the read that failed the connection."""
        held, self._held_out = self._held_out, None
        if held:
            self._pending_out.extend(held)
            await self._write_lock.acquire()
            try:
                await self._drain_writes()
            finally:
                self._write_lock.release()

    async def _flush_control(self) -> None:
        """Write whatever the receive path produced (pong, close echo, EOF)."""
        out = self._protocol.data_to_send()
        if not out:
            return
        self._pending_out.extend(out)
        lock = self._write_lock
        if lock.busy:
            return  # the holder drains _pending_out before it releases the lock
        lock.busy = True
        try:
            await self._drain_writes()
        finally:
            lock.release()

    async def _drain_writes(self) -> bool:
        """Write everything pending, looping until nothing is left; call with the write lock
        held. Returns whether anything was written."""
        wrote = False
        while True:
            await trio.lowlevel.checkpoint_if_cancelled()
            out = self._protocol.data_to_send()
            if self._pending_out:
                out = self._pending_out + out
                self._pending_out = []
            if not out:
                return wrote
            if self._broken or self._stream_closed:
                return wrote  # nothing can be written any more; drop it
            wrote = True
            eof = out[-1] == _SEND_EOF
            data = b"".join(out)
            if data:
                await self._send_all(data)
            if eof:
                await self._send_eof()

    async def _send_all(self, data: bytes) -> None:
        try:
            await self._io.send_all(data)
        except BaseException as exc:
            # See "Cancellation" in the module docstring: past checkpoint_if_cancelled(), any
            # failure may have left half a frame on the wire.
            self._broken = True
            if isinstance(exc, (trio.BrokenResourceError, trio.ClosedResourceError)):
                raise ConnectionClosed("connection lost while sending", code=1006) from None
            raise

    async def _send_eof(self) -> None:
        # The protocol asks for a TCP half-close (server: after the closing handshake or a
        # failure; client: after the server's). A stream that cannot half-close is closed
        # whole by aclose() instead.
        stream = self._stream
        if isinstance(stream, trio.abc.HalfCloseableStream):
            try:
                await stream.send_eof()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._broken = True

    # ---------------------------------------------------------------- close

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection: send a close frame with ``code`` and ``reason`` (unless the
        peer already closed), wait up to ``close_timeout`` for the closing handshake, then
        close the stream. Idempotent; another task blocked in :meth:`receive_message` gets
        :class:`~trio_plivo.ConnectionClosed`."""
        if self._stream_closed:
            await trio.lowlevel.checkpoint()
            return
        if self._closing:
            if self._closed_event is None:
                self._closed_event = trio.Event()
            await self._closed_event.wait()
            return
        self._closing = True
        try:
            with trio.move_on_after(self._close_timeout):
                await self._close_handshake(code, reason)
        except ConnectionClosed:
            pass  # the transport went away first: nothing left to say goodbye to
        finally:
            self._stream_closed = True
            await trio.aclose_forcefully(self._stream)
            if self._closed_event is not None:
                self._closed_event.set()

    async def _close_handshake(self, code: int, reason: str) -> None:
        protocol = self._protocol
        if self._broken:
            return
        if protocol.state is _OPEN:
            self._local_close = True
        # Wait for the lock even when only flushing: whatever the receive path queued (the
        # echo of the peer's close frame) must go out before the stream is closed.
        lock = self._write_lock
        await lock.acquire()
        try:
            if protocol.state is _OPEN:
                protocol.send_close(code, reason)
            if self._held_out is not None:
                self._pending_out.extend(self._held_out)
                self._held_out = None
            await self._drain_writes()
        finally:
            lock.release()
        while not self._handshake_done():
            await self._read_once()

    def _handshake_done(self) -> bool:
        if self._broken:
            return True
        p = self._protocol
        if p.state is _CLOSED:
            return True
        # A server may drop TCP as soon as both close frames have crossed: the peer sends
        # nothing after its close frame, so no unread data can turn our close into a reset.
        # A client waits for the server to drop TCP first (RFC 6455 7.1.1).
        return (
            p.side is Side.SERVER
            and p.close_rcvd is not None
            and p.close_sent is not None
            and p.eof_sent
        )


def _replies(protocol: Protocol, messages: Sequence[str | bytes]) -> list[bytes]:
    """``messages`` as frames, built past the protocol object, which sends nothing once it
    failed the connection: the replies to the messages that came before the failure."""
    mask, extensions = protocol.side is Side.CLIENT, protocol.extensions
    return [
        Frame(Opcode.TEXT, message.encode()).serialize(mask=mask, extensions=extensions)
        if isinstance(message, str)
        else Frame(Opcode.BINARY, message).serialize(mask=mask, extensions=extensions)
        for message in messages
    ]
