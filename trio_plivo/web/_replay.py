"""A stream that first gives back bytes already read, then reads its transport.

The one-port front reads an HTTP request head to decide where it goes. When it is a WebSocket
upgrade, the WebSocket layer must see the request exactly as the client sent it, so the front
hands over a :class:`ReplayStream` holding every byte it read (the head and anything that
arrived behind it, such as early frames). After that one replay the stream is a plain
pass-through: media frames pay one attribute check per read and nothing else.
"""

from __future__ import annotations

from typing import final

import trio

__all__ = ["ReplayStream"]


@final
class ReplayStream(trio.abc.Stream):
    """``transport`` with ``prefix`` put back in front of its incoming bytes."""

    __slots__ = ("_prefix", "transport_stream")

    def __init__(self, transport: trio.abc.Stream, prefix: bytes) -> None:
        #: The wrapped stream (named as ``trio.SSLStream`` names its own).
        self.transport_stream = transport
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """The replayed bytes first (up to ``max_bytes`` at a time), then the transport's."""
        if self._prefix:
            # Still a checkpoint, as every receive_some must be.
            await trio.lowlevel.checkpoint()
            if max_bytes is None or max_bytes >= len(self._prefix):
                data, self._prefix = self._prefix, b""
            else:
                data, self._prefix = self._prefix[:max_bytes], self._prefix[max_bytes:]
            return data
        return await self.transport_stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Write to the transport."""
        await self.transport_stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        """As the transport's."""
        await self.transport_stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        """Close the transport (the replay buffer is dropped)."""
        self._prefix = b""
        await self.transport_stream.aclose()
