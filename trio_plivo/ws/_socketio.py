"""Direct, non-blocking reads and writes on a ``trio.SocketStream``'s file descriptor.

Why: at telephony load a connection carries one small frame every 20 ms, so nearly every
read finds the socket empty. ``SocketStream.receive_some`` then always tries ``recv`` first,
fails with EAGAIN, waits, and reads again, through several layers of context managers. Here
a read first *waits* for readability (one ``wait_readable``, which is also the checkpoint)
and then reads once; it only tries an immediate read when the previous one filled the
buffer, i.e. when more data is probably queued. Writes go straight to ``os.write`` with a
``wait_writable`` only when the kernel buffer is full. Measured in bench/loadgen.py.

The owner (``WebSocket``) guarantees one reader and one writer at a time and never uses a
closed socket: ``fileno()`` is re-checked after every wait, so a descriptor number reused by
another connection is never touched.
"""

from __future__ import annotations

import os
from typing import Final, final

import trio

__all__ = ["READ_SIZE", "SocketIO", "StreamIO", "can_use_socket_io"]

#: Bytes asked for per read.
READ_SIZE: Final = 65536

_POSIX: Final = os.name == "posix"


def can_use_socket_io(stream: trio.abc.Stream) -> bool:
    """Whether :class:`SocketIO` may drive ``stream`` (a plain TCP stream on POSIX)."""
    return _POSIX and type(stream) is trio.SocketStream


@final
class SocketIO:
    """``receive_some``/``send_all`` on the descriptor under a ``trio.SocketStream``."""

    __slots__ = ("_read_size", "_socket", "_stream", "_try_read_first")

    def __init__(self, stream: trio.SocketStream, read_size: int) -> None:
        self._stream = stream
        self._socket = stream.socket
        self._read_size = read_size
        self._try_read_first = False

    def _fd(self) -> int:
        fd = self._socket.fileno()
        if fd < 0:
            raise trio.ClosedResourceError("socket was closed")
        return fd

    async def receive_some(self) -> bytes:
        """Up to ``read_size`` bytes; ``b""`` at end of stream. Always checkpoints."""
        sock = self._socket
        if self._try_read_first:
            await trio.lowlevel.checkpoint_if_cancelled()
            data = self._read_nowait()
            if data is not None:
                await trio.lowlevel.cancel_shielded_checkpoint()
                return data
        while True:
            await trio.lowlevel.wait_readable(sock)
            data = self._read_nowait()
            if data is not None:
                return data

    def _read_nowait(self) -> bytes | None:
        try:
            data = os.read(self._fd(), self._read_size)
        except BlockingIOError:
            self._try_read_first = False
            return None
        except OSError as exc:
            raise trio.BrokenResourceError(f"socket read failed: {exc}") from exc
        self._try_read_first = len(data) == self._read_size
        return data

    async def send_all(self, data: bytes) -> None:
        """Write all of ``data``. A cancellation point; it yields to other tasks only when
        the kernel buffer is full (a write that fits costs no trip through the scheduler).
        A cancellation after part of it was written leaves the rest unwritten (the caller
        treats that as a broken connection)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        view = memoryview(data)
        sock = self._socket
        while view:
            try:
                sent = os.write(self._fd(), view)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
                continue
            except OSError as exc:
                raise trio.BrokenResourceError(f"socket write failed: {exc}") from exc
            view = view[sent:]


@final
class StreamIO:
    """The generic I/O path: any ``trio.abc.Stream`` (TLS, memory streams ...)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream

    async def receive_some(self) -> bytes | bytearray:
        return await self._stream.receive_some(READ_SIZE)

    async def send_all(self, data: bytes) -> None:
        await self._stream.send_all(data)
