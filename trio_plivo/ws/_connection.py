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

I/O. On a plain ``trio.SocketStream`` reads and writes go straight to the descriptor
(``_socketio``): a read waits for readability first instead of failing a ``recv`` first, and
a write that fits in the kernel buffer does not pass through the scheduler. Measured: server
CPU per echoed 20 ms frame went from ~50 to ~38 µs (bench/loadgen.py). Other streams (TLS,
memory streams in tests) use their own ``receive_some``/``send_all``.

Writing, cancellation and closing: see :mod:`._write_path`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Final, cast, final

import trio
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from .._exceptions import ConnectionClosed
from ._socketio import READ_SIZE, SocketIO, StreamIO, can_use_socket_io
from ._types import HandshakeRequest
from ._write_path import WriteGate, WritePath

__all__ = ["WebSocket"]

#: Bytes asked of the stream per read: many 20 ms frames from many peers fit, and one read's
#: worth is the most ``receive_message`` returns without a checkpoint.

_TEXT: Final = Opcode.TEXT
_BINARY: Final = Opcode.BINARY
_CONT: Final = Opcode.CONT
_OPEN: Final = State.OPEN
_CLOSING: Final = State.CLOSING
_CLOSED: Final = State.CLOSED
_SEND_EOF: Final = b""
_Bytes = bytes | bytearray | memoryview


@final
class WebSocket(WritePath):
    """An open WebSocket connection (either role); satisfies
    :class:`~trio_plivo.transport.MessageTransport`.

    Not constructed directly: :func:`accept_websocket` and :func:`connect_websocket` return
    one. One task may receive while another sends; ``aclose`` may come from any task.
    """

    __slots__ = (
        "_fragment_text",
        "_fragments",
        "_io",
        "_messages",
        "_protocol",
        "_read_waiter",
        "_reading",
        "_stream",
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
        self._io: SocketIO | StreamIO = (
            SocketIO(stream, READ_SIZE)
            if can_use_socket_io(stream) and isinstance(stream, trio.SocketStream)
            else StreamIO(stream)
        )
        self._protocol = protocol
        #: The handshake request (server role), ``None`` in the client role.
        self.request = request
        self._close_timeout = close_timeout
        self._messages: deque[str | bytes] = deque()
        self._fragments: list[_Bytes] = []
        self._fragment_text = False
        self._pending_out: list[bytes] = []
        self._write_lock = WriteGate()
        self._reading = False
        self._read_waiter: trio.Event | None = None
        self._broken = False
        self._stream_closed = False
        self._closing = False
        self._closed_event: trio.Event | None = None
        self._local_close = False
        self._held_out = None
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
                if self._held_out is not None:
                    await self._send_held()  # the app has had the messages: now the close
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
            if protocol.state is not _OPEN:
                self._hold_failure()
        else:
            protocol.receive_eof()
        await self._flush_control()

    def _hold_failure(self) -> None:
        """When the read that failed the connection (an invalid frame, Autobahn 3.4 / 4.1.5)
        also completed messages, hold the close back until they are received, so the app can
        still answer them (an echo) before it; :meth:`aclose` sends it too."""
        protocol = self._protocol
        if self._messages and protocol.close_rcvd is None and not self._local_close:
            self._held_out = protocol.data_to_send()

    def _fail_after_handshake(self, code: int, reason: str) -> None:
        """Frames that came with the upgrade request failed the connection before the 101
        could carry a close frame: fail it now, the close held back (as _hold_failure does)
        until the messages that came before the invalid frame are received."""
        protocol = self._protocol
        protocol.eof_sent = False  # the end-of-stream queued before the 101 was not written
        protocol.fail(code, reason)
        self._held_out = protocol.data_to_send()

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
