"""Reading the opening handshake, for both roles: the HTTP message, and what came with it.

A peer may send frames right behind its handshake message, in the same TCP segment (a ping
behind the upgrade request, a message right behind the 101). The ``websockets`` parser reads
them at once and queues its answers (a pong, the echo of a close) before our side has written
its own handshake message, so those answers are handed back here, to be written after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import attrs
import trio
from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Frame
from websockets.http11 import Request, Response
from websockets.protocol import Protocol

from ._socketio import READ_SIZE

__all__ = ["HandshakeRead", "early_failure", "read_handshake"]

_Message = TypeVar("_Message", Request, Response)


@attrs.frozen
class HandshakeRead(Generic[_Message]):
    """What one handshake read gave: the peer's HTTP message (``None`` if it sent something
    else or went away), the frames that followed it, and the bytes the protocol queued in
    answer to them (to be written after our own handshake message)."""

    message: _Message | None
    early_frames: list[Frame]
    early_answers: list[bytes]


async def read_handshake(
    stream: trio.abc.Stream,
    protocol: Protocol,
    kind: type[_Message],
    *,
    gave_up: Callable[[], bool],
) -> HandshakeRead[_Message]:
    """Feed ``stream`` to ``protocol`` until it has parsed the peer's handshake message.

    ``gave_up`` tells when the protocol will parse nothing more (it rejected the bytes).
    A connection reset reads as the end of the stream.
    """
    while True:
        try:
            data = await stream.receive_some(READ_SIZE)
        except trio.BrokenResourceError:
            data = b""
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        events = protocol.events_received()
        if events:
            first = events[0]
            assert isinstance(first, kind)
            frames = [event for event in events[1:] if isinstance(event, Frame)]
            return HandshakeRead(first, frames, protocol.data_to_send() if frames else [])
        if not data or gave_up():
            return HandshakeRead(None, [], [])


def early_failure(protocol: Protocol) -> tuple[int, str] | None:
    """The close code and reason for frames that came with the handshake and failed the
    connection (an invalid frame, bad UTF-8, a message too big), ``None`` if none did.

    The protocol fails the connection as it parses them, before our side's handshake message
    is written, so no close frame could go out then: the caller fails it again once the
    connection is open, with the code the protocol chose (the same mapping as its parser's).
    """
    exc = protocol.parser_exc
    if exc is None or isinstance(exc, EOFError):
        return None
    if isinstance(exc, ProtocolError):
        return 1002, str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return 1007, f"{exc.reason} at position {exc.start}"
    if isinstance(exc, PayloadTooBig):
        return 1009, str(exc)
    return 1011, ""
