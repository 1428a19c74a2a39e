"""A complete message and an invalid frame in the same read (issue #15, defect 6, second half;
Autobahn 3.4 / 4.1.5): the message is delivered first and the application may still answer it
before the close frame (1002) goes out, in both roles; then the connection fails with 1002."""

from __future__ import annotations

import base64
import hashlib

import pytest
import trio
import trio.testing
from test_connection import UPGRADE, RawPeer, expect_closed, raw_pair
from websockets.frames import Frame, Opcode

from trio_plivo.ws import accept_websocket, connect_websocket_stream

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def rsv_set(frame: bytes) -> bytes:
    """The frame with RSV1..RSV3 set and no extension negotiated (Autobahn 3.x)."""
    return bytes([frame[0] | 0x70]) + frame[1:]


def reserved_opcode(frame: bytes) -> bytes:
    """The frame with the reserved non-control opcode 7 (Autobahn 4.1.5)."""
    return bytes([(frame[0] & 0xF0) | 0x7]) + frame[1:]


INVALID = pytest.mark.parametrize("spoil", [rsv_set, reserved_opcode], ids=["rsv", "opcode"])


async def read_frames_until_close(peer: RawPeer) -> list[tuple[Opcode, bytes]]:
    frames = []
    while (frame := await peer.read_frame()) is not None:
        opcode, _, payload = frame
        frames.append((opcode, payload))
        if opcode is Opcode.CLOSE:
            break
    return frames


@INVALID
async def test_server_delivers_the_message_before_failing(spoil: object) -> None:
    assert callable(spoil)
    with trio.fail_after(5):
        peer, server = await raw_pair()
        hello = Frame(Opcode.TEXT, b"hello").serialize(mask=True)
        bad = spoil(Frame(Opcode.TEXT, b"bad").serialize(mask=True))
        await peer.stream.send_all(hello + bad)  # one read on the server's side
        assert await server.receive_message() == "hello"
        await server.send_message("hello")  # Autobahn 3.4: the echo, then the close
        await expect_closed(server.receive_message, 1002)
        frames = await read_frames_until_close(peer)
        assert frames[0] == (Opcode.TEXT, b"hello")
        assert frames[1][0] is Opcode.CLOSE and frames[1][1][:2] == (1002).to_bytes(2, "big")
        await peer.stream.aclose()
        await server.aclose()


@INVALID
async def test_client_delivers_the_message_before_failing(spoil: object) -> None:
    assert callable(spoil)
    client_stream, server_stream = trio.testing.memory_stream_pair()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(raw_server, server_stream)
            client = await connect_websocket_stream(client_stream, "h", "/")
        hello = Frame(Opcode.TEXT, b"hello").serialize(mask=False)
        bad = spoil(Frame(Opcode.TEXT, b"bad").serialize(mask=False))
        await server_stream.send_all(hello + bad)  # one read on the client's side
        assert await client.receive_message() == "hello"
        await client.send_messages(["hello", b"\x00\x01"])  # Autobahn 3.4 as a client
        await expect_closed(client.receive_message, 1002)
        echo, binary, close = await read_masked_frames(server_stream, 3)
        assert (echo, binary) == ((Opcode.TEXT, b"hello"), (Opcode.BINARY, b"\x00\x01"))
        assert close[0] is Opcode.CLOSE and close[1][:2] == (1002).to_bytes(2, "big")
        await server_stream.aclose()
        await client.aclose()


async def read_masked_frames(
    stream: trio.abc.ReceiveStream, count: int
) -> list[tuple[Opcode, bytes]]:
    """``count`` short frames from a client (masked, payloads under 126 bytes)."""
    buffer, frames = b"", []
    while len(frames) < count:
        while len(buffer) < 2 or len(buffer) < 6 + (buffer[1] & 0x7F):
            chunk = await stream.receive_some()
            assert chunk, frames
            buffer += chunk
        length, mask = buffer[1] & 0x7F, buffer[2:6]
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buffer[6 : 6 + length]))
        frames.append((Opcode(buffer[0] & 0x0F), payload))
        buffer = buffer[6 + length :]
    return frames


async def raw_server(stream: trio.abc.Stream, after_101: bytes = b"") -> None:
    """Answer one upgrade request with a 101 by hand (and ``after_101`` in the same write)."""
    request = b""
    while b"\r\n\r\n" not in request:
        request += await stream.receive_some()
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    await stream.send_all(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + after_101
    )


@INVALID
async def test_server_with_the_message_and_the_invalid_frame_behind_the_request(
    spoil: object,
) -> None:
    # The request, a message and an invalid frame in one read: the handshake still completes,
    # the message is delivered, then the connection fails with 1002 (it must not look open).
    assert callable(spoil)
    with trio.fail_after(5):
        client_stream, server_stream = trio.testing.memory_stream_pair()
        peer = RawPeer(client_stream)
        hello = Frame(Opcode.TEXT, b"hello").serialize(mask=True)
        bad = spoil(Frame(Opcode.TEXT, b"bad").serialize(mask=True))
        await client_stream.send_all(UPGRADE + hello + bad)
        server = await accept_websocket(server_stream)
        assert server is not None
        assert await server.receive_message() == "hello"
        await expect_closed(server.receive_message, 1002)
        while b"\r\n\r\n" not in peer.buffer:
            assert await peer._fill(len(peer.buffer) + 1)
        head, _, rest = bytes(peer.buffer).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        peer.buffer = bytearray(rest)
        frames = await read_frames_until_close(peer)
        assert frames[-1][0] is Opcode.CLOSE
        assert frames[-1][1][:2] == (1002).to_bytes(2, "big")
        await client_stream.aclose()
        await server.aclose()
