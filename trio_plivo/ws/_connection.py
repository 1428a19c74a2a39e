"""The WebSocket driver: a ``websockets`` sans-IO protocol object run on a Trio stream.

Theory of operation
-------------------

There is no background task. Whoever calls :meth:`WebSocket.receive_message` does the socket
reads, whoever calls :meth:`WebSocket.send_messages` does the writes; in a call these are its
reader and sender tasks. That is the whole point of this module: trio-websocket's reader task
hands every message through a memory channel, which costs two task switches per message.

Reading. One ``receive_some`` is fed to the protocol and *every* complete message it yields is
buffered in a deque; ``receive_message`` serves that deque before touching the socket again.
Buffered messages are returned without a checkpoint (at most one read's worth, 64 KiB), the
next socket read checkpoints. Only one task reads at a time: a second one (``aclose`` draining
the closing handshake while the reader is blocked) waits for the current read to finish and
then looks at the state again.

Writing. The protocol turns outgoing messages into frames in memory; a batch becomes ONE
write. The receive path also produces bytes (pongs, the echo of a close frame), so two tasks
may want to write at once, which Trio forbids. Writes are serialised by a small write gate
(a flag plus a parking lot: taking it when free costs nothing, and every frame takes it) and
the rule that the holder keeps writing until nothing is pending before it lets go. So the
receive path never waits for the gate: if someone else holds it, its control frames simply
ride along with that task's write.

I/O. On a plain ``trio.SocketStream`` reads and writes go straight to the descriptor
(``_socketio``): a read waits for readability first instead of failing a ``recv`` first, and
a write that fits in the kernel buffer does not pass through the scheduler. Measured: server
CPU per echoed 20 ms frame went from ~50 to ~38 µs (bench/loadgen.py). Other streams (TLS,
memory streams in tests) use their own ``receive_some``/``send_all``.

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

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Final, cast, final

import trio
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from .._exceptions import ConnectionClosed
from ._socketio import SocketIO, can_use_socket_io
from ._types import HandshakeRequest

__all__ = ["WebSocket"]

#: Bytes asked of the stream per read: many 20 ms frames from many peers fit, and one read's
#: worth is the most ``receive_message`` returns without a checkpoint.
READ_SIZE: Final = 65536

_TEXT: Final = Opcode.TEXT
_BINARY: Final = Opcode.BINARY
_CONT: Final = Opcode.CONT
_OPEN: Final = State.OPEN
_CLOSING: Final = State.CLOSING
_CLOSED: Final = State.CLOSED
_SEND_EOF: Final = b""
_Bytes = bytes | bytearray | memoryview


@final
class _WriteGate:
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


@final
class _StreamIO:
    """The generic I/O path: any ``trio.abc.Stream`` (TLS, memory streams ...)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream

    async def receive_some(self) -> bytes | bytearray:
        return await self._stream.receive_some(READ_SIZE)

    async def send_all(self, data: bytes) -> None:
        await self._stream.send_all(data)


@final
class WebSocket:
    """An open WebSocket connection (either role); satisfies
    :class:`~trio_plivo.transport.MessageTransport`.

    Not constructed directly: :func:`accept_websocket` and :func:`connect_websocket` return
    one. One task may receive while another sends; ``aclose`` may come from any task.
    """

    __slots__ = (
        "_broken",
        "_close_timeout",
        "_closed_event",
        "_closing",
        "_fragment_text",
        "_fragments",
        "_io",
        "_local_close",
        "_messages",
        "_pending_out",
        "_protocol",
        "_read_waiter",
        "_reading",
        "_stream",
        "_stream_closed",
        "_write_lock",
        "request",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: Protocol,
        *,
        request: HandshakeRequest | None = None,
        close_timeout: float = 5.0,
        early_events: Iterable[Frame] = (),
    ) -> None:
        self._stream = stream
        # The I/O path: direct descriptor I/O for plain TCP (see _socketio), else the stream.
        self._io: SocketIO | _StreamIO = (
            SocketIO(stream, READ_SIZE)
            if can_use_socket_io(stream) and isinstance(stream, trio.SocketStream)
            else _StreamIO(stream)
        )
        self._protocol = protocol
        #: The handshake request (server role), ``None`` in the client role.
        self.request = request
        self._close_timeout = close_timeout
        self._messages: deque[str | bytes] = deque()
        self._fragments: list[_Bytes] = []
        self._fragment_text = False
        self._pending_out: list[bytes] = []
        self._write_lock = _WriteGate()
        self._reading = False
        self._read_waiter: trio.Event | None = None
        self._broken = False
        self._stream_closed = False
        self._closing = False
        self._closed_event: trio.Event | None = None
        self._local_close = False
        # Frames that arrived in the same read as the handshake.
        self._handle_frames(early_events)

    # ---------------------------------------------------------------- state

    @property
    def is_client(self) -> bool:
        """Whether this end opened the connection."""
        return self._protocol.side is Side.CLIENT

    @property
    def closed(self) -> bool:
        """Whether the connection is over for receiving (it may still be tearing down TCP)."""
        return self._receive_finished()

    @property
    def close_code(self) -> int | None:
        """``None`` while open; then the close code the peer sent, else the one we sent, else
        1006 (the connection dropped without a closing handshake)."""
        if not self._receive_finished():
            return None
        return self._close_info()[0]

    @property
    def close_reason(self) -> str | None:
        """The reason string that goes with :attr:`close_code`."""
        if not self._receive_finished():
            return None
        return self._close_info()[1]

    def _close_info(self) -> tuple[int, str]:
        p = self._protocol
        if p.close_rcvd is not None:
            return p.close_rcvd.code, p.close_rcvd.reason
        if p.close_sent is not None:
            return p.close_sent.code, p.close_sent.reason
        return 1006, "connection lost"

    def _closed_error(self) -> ConnectionClosed:
        code, reason = self._close_info()
        return ConnectionClosed(reason or "connection closed", code=code)

    def _receive_finished(self) -> bool:
        if self._stream_closed or self._broken:
            return True
        p = self._protocol
        state = p.state
        if state is _OPEN:
            return False
        if state is _CLOSING:
            # After *our* close frame the peer may still send messages until its close frame;
            # any other CLOSING (peer closed, or we failed the connection) ends delivery.
            return not (self._local_close and p.close_rcvd is None)
        return True

    # -------------------------------------------------------------- receive

    async def receive_message(self) -> str | bytes:
        """Return the next message: ``str`` for a text frame, ``bytes`` for a binary one.

        Pings are answered while reading. Messages that arrived before a close are delivered
        first; then this raises :class:`~trio_plivo.ConnectionClosed` with the close code
        (1006 when TCP dropped without a closing handshake, 1009 for a message over the size
        limit, 1007 for invalid UTF-8 ...).
        """
        messages = self._messages
        while not messages:
            if self._receive_finished():
                await trio.lowlevel.checkpoint()
                raise self._closed_error()
            await self._read_once()
        return messages.popleft()

    async def _read_once(self) -> None:
        """Read once from the stream and process what arrived; if another task is already
        reading, wait for its read to finish instead (the caller then re-checks state)."""
        if self._reading:
            waiter = self._read_waiter
            if waiter is None:
                waiter = self._read_waiter = trio.Event()
            await waiter.wait()
            return
        self._reading = True
        try:
            try:
                data = await self._io.receive_some()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                # Reset by the peer, or closed under us by aclose(): both end the stream.
                data = b""
        finally:
            self._reading = False
            waiter = self._read_waiter
            if waiter is not None:
                self._read_waiter = None
                waiter.set()
        protocol = self._protocol
        if data:
            protocol.receive_data(data)
            # Once the handshake is over the protocol only produces frames.
            self._handle_frames(cast("list[Frame]", protocol.events_received()))
        else:
            protocol.receive_eof()
        await self._flush_control()

    def _handle_frames(self, frames: Iterable[Frame]) -> None:
        for frame in frames:
            opcode = frame.opcode
            if opcode is _TEXT or opcode is _BINARY:
                if frame.fin:
                    if not self._deliver(opcode is _TEXT, frame.data):
                        return
                else:
                    self._fragment_text = opcode is _TEXT
                    self._fragments = [frame.data]
            elif opcode is _CONT:
                self._fragments.append(frame.data)
                if frame.fin:
                    data = b"".join(self._fragments)
                    self._fragments = []
                    if not self._deliver(self._fragment_text, data):
                        return
            # PING / PONG / CLOSE: the protocol object already queued the pong or the echo of
            # the close frame and recorded the close code; nothing to deliver.

    def _deliver(self, text: bool, data: _Bytes) -> bool:
        if text:
            try:
                self._messages.append(str(data, "utf-8"))
            except UnicodeDecodeError:
                # RFC 6455 8.1: invalid UTF-8 in a text message fails the connection with 1007.
                self._protocol.fail(1007, "invalid UTF-8 in a text message")
                return False
        else:
            self._messages.append(data if type(data) is bytes else bytes(data))
        return True

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
                await trio.lowlevel.checkpoint()
                raise self._closed_error()
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
