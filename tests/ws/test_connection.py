"""Messages, control frames, closing and cancellation over in-memory streams.

``RawPeer`` speaks the wire format by hand, so these tests do not trust our own client to
check our server.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing
from websockets.frames import Close, Frame, Opcode

from trio_plivo import ConnectionClosed
from trio_plivo.transport import MessageTransport
from trio_plivo.ws import WebSocket, accept_websocket, connect_websocket_stream

UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class RawPeer:
    """A hand-written WebSocket client: masked frames out, unmasked frames parsed in."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    async def _fill(self, size: int) -> bool:
        while len(self.buffer) < size:
            chunk = await self.stream.receive_some()
            if not chunk:
                return False
            self.buffer += chunk
        return True

    async def handshake(self) -> None:
        await self.stream.send_all(UPGRADE)
        while b"\r\n\r\n" not in self.buffer:
            assert await self._fill(len(self.buffer) + 1)
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        self.buffer = bytearray(rest)

    async def send_frame(self, opcode: Opcode, data: bytes, *, fin: bool = True) -> None:
        await self.stream.send_all(Frame(opcode, data, fin).serialize(mask=True))

    async def read_frame(self) -> tuple[Opcode, bool, bytes] | None:
        """The next frame from the server, or ``None`` at EOF."""
        if not await self._fill(2):
            return None
        head1, head2 = self.buffer[0], self.buffer[1]
        assert not head2 & 0x80, "server frames are never masked"
        length, offset = head2 & 0x7F, 2
        if length == 126:
            assert await self._fill(4)
            (length,) = struct.unpack("!H", self.buffer[2:4])
            offset = 4
        elif length == 127:
            assert await self._fill(10)
            (length,) = struct.unpack("!Q", self.buffer[2:10])
            offset = 10
        assert await self._fill(offset + length)
        payload = bytes(self.buffer[offset : offset + length])
        del self.buffer[: offset + length]
        return Opcode(head1 & 0x0F), bool(head1 & 0x80), payload


async def raw_pair(
    pair: Callable[[], tuple[trio.abc.Stream, trio.abc.Stream]] = trio.testing.memory_stream_pair,
    **kwargs: object,
) -> tuple[RawPeer, WebSocket]:
    client_stream, server_stream = pair()
    peer = RawPeer(client_stream)
    result: list[WebSocket | None] = []

    async def serve() -> None:
        result.append(await accept_websocket(server_stream, **kwargs))  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        await peer.handshake()
    ws = result[0]
    assert ws is not None
    return peer, ws


async def ws_pair(**server_kwargs: object) -> tuple[WebSocket, WebSocket]:
    """(client, server), both our driver, over a memory stream pair."""
    client_stream, server_stream = trio.testing.memory_stream_pair()
    result: list[WebSocket | None] = []

    async def serve() -> None:
        result.append(await accept_websocket(server_stream, **server_kwargs))  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        client = await connect_websocket_stream(client_stream, "h", "/")
    server = result[0]
    assert server is not None
    return client, server


async def close_both(a: WebSocket, b: WebSocket) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(a.aclose)
        nursery.start_soon(b.aclose)


async def expect_closed(receive: Callable[[], Awaitable[object]], code: int) -> ConnectionClosed:
    with pytest.raises(ConnectionClosed) as info:
        await receive()
    assert info.value.code == code
    return info.value


async def test_satisfies_message_transport() -> None:
    with trio.fail_after(5):
        client, server = await ws_pair()
        assert isinstance(server, MessageTransport)
        assert isinstance(client, MessageTransport)
        await close_both(client, server)


async def test_text_and_binary_round_trip() -> None:
    with trio.fail_after(5):
        client, server = await ws_pair()
        await client.send_message('{"event":"media"}')
        await client.send_message(b"\x00\xff" * 100)
        assert await server.receive_message() == '{"event":"media"}'
        assert await server.receive_message() == b"\x00\xff" * 100
        await server.send_messages(["é", b"", "x" * 70000])
        assert await client.receive_message() == "é"
        assert await client.receive_message() == b""
        assert await client.receive_message() == "x" * 70000
        await close_both(client, server)


async def test_send_messages_is_one_write() -> None:
    with trio.fail_after(5):
        client_stream, server_stream = trio.testing.memory_stream_pair()
        result: list[WebSocket | None] = []

        async def serve() -> None:
            result.append(await accept_websocket(server_stream))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            client = await connect_websocket_stream(client_stream, "h", "/")
        server = result[0]
        assert server is not None
        writes = 0
        send_stream = server_stream.send_stream
        pump = send_stream.send_all_hook
        assert pump is not None

        async def count_then_pump() -> None:
            nonlocal writes
            writes += 1
            await pump()

        send_stream.send_all_hook = count_then_pump
        await server.send_messages(["a", "b", b"c", "d"])
        assert writes == 1
        assert [await client.receive_message() for _ in range(4)] == ["a", "b", b"c", "d"]
        await close_both(client, server)


async def test_ping_answered_automatically() -> None:
    with trio.fail_after(5):
        peer, server = await raw_pair()
        async with trio.open_nursery() as nursery:
            received: list[str | bytes] = []

            async def reader() -> None:
                received.append(await server.receive_message())

            nursery.start_soon(reader)
            await peer.send_frame(Opcode.PING, b"are you there")
            assert await peer.read_frame() == (Opcode.PONG, True, b"are you there")
            await peer.send_frame(Opcode.TEXT, b"yes")
        assert received == ["yes"]


async def test_pong_rides_with_a_blocked_sender() -> None:
    """The sender task is stuck in a write the peer does not read; a ping arrives. The reader
    must not write concurrently (Trio would raise BusyResourceError): the pong follows the
    pending message once the peer reads."""
    with trio.fail_after(5):
        peer, server = await raw_pair(trio.testing.lockstep_stream_pair)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.send_message, "big")
            await trio.testing.wait_all_tasks_blocked()
            received: list[str | bytes] = []

            async def reader() -> None:
                received.append(await server.receive_message())

            nursery.start_soon(reader)
            await peer.send_frame(Opcode.PING, b"p")
            await trio.testing.wait_all_tasks_blocked()
            assert await peer.read_frame() == (Opcode.TEXT, True, b"big")
            assert await peer.read_frame() == (Opcode.PONG, True, b"p")
            await peer.send_frame(Opcode.TEXT, b"done")
        assert received == ["done"]


async def test_fragmented_messages_are_reassembled() -> None:
    with trio.fail_after(5):
        peer, server = await raw_pair()
        await peer.send_frame(Opcode.TEXT, b"hel", fin=False)
        await peer.send_frame(Opcode.CONT, b"lo ", fin=False)
        await peer.send_frame(Opcode.PING, b"between")  # control frames may interleave
        await peer.send_frame(Opcode.CONT, "wörld".encode(), fin=True)
        await peer.send_frame(Opcode.BINARY, b"\x01", fin=False)
        await peer.send_frame(Opcode.CONT, b"\x02", fin=True)
        assert await server.receive_message() == "hello wörld"
        assert await server.receive_message() == b"\x01\x02"
        assert await peer.read_frame() == (Opcode.PONG, True, b"between")


async def test_utf8_split_across_fragments_is_fine_but_invalid_utf8_is_1007() -> None:
    with trio.fail_after(5):
        peer, server = await raw_pair()
        euro = "€".encode()
        await peer.send_frame(Opcode.TEXT, euro[:1], fin=False)
        await peer.send_frame(Opcode.CONT, euro[1:], fin=True)
        assert await server.receive_message() == "€"
        await peer.send_frame(Opcode.TEXT, b"\xff\xfe")
        await expect_closed(server.receive_message, 1007)
        frame = await peer.read_frame()
        assert frame is not None
        assert frame[0] is Opcode.CLOSE
        assert Close.parse(frame[2]).code == 1007


@pytest.mark.parametrize("code", [1000, 1008, 1011])
@pytest.mark.parametrize("closer", ["server", "client"])
async def test_close_code_seen_by_peer(code: int, closer: str) -> None:
    with trio.fail_after(5):
        client, server = await ws_pair()
        closing, other = (server, client) if closer == "server" else (client, server)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(closing.aclose, code, "because")
            error = await expect_closed(other.receive_message, code)
            assert error.reason == "because"
            await other.aclose()
        assert closing.close_code == code
        assert other.close_code == code
        await expect_closed(closing.receive_message, code)
        with pytest.raises(ConnectionClosed):
            await other.send_message("too late")


async def test_messages_sent_before_close_are_delivered_first() -> None:
    with trio.fail_after(5):
        client, server = await ws_pair()
        await client.send_messages(["one", "two"])
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.aclose, 1000)
            assert await server.receive_message() == "one"
            assert await server.receive_message() == "two"
            await expect_closed(server.receive_message, 1000)
            await server.aclose()


async def test_oversized_message_fails_with_1009() -> None:
    with trio.fail_after(5):
        client, server = await ws_pair(max_message_size=1000)
        await client.send_message("x" * 1000)
        assert await server.receive_message() == "x" * 1000
        await client.send_message("x" * 1001)
        await expect_closed(server.receive_message, 1009)
        await expect_closed(client.receive_message, 1009)
        await close_both(client, server)


async def test_oversized_fragmented_message_fails_with_1009() -> None:
    with trio.fail_after(5):
        peer, server = await raw_pair(max_message_size=1000)
        await peer.send_frame(Opcode.BINARY, b"x" * 600, fin=False)
        await peer.send_frame(Opcode.CONT, b"x" * 600, fin=True)
        await expect_closed(server.receive_message, 1009)


async def test_abrupt_close_mid_frame_is_1006() -> None:
    with trio.fail_after(5):
        peer, server = await raw_pair()
        frame = Frame(Opcode.TEXT, b"x" * 100).serialize(mask=True)
        await peer.stream.send_all(frame[:50])
        await peer.stream.aclose()
        await expect_closed(server.receive_message, 1006)
        assert server.close_code == 1006
        await server.aclose()


async def test_aclose_from_another_task_wakes_the_reader() -> None:
    with trio.fail_after(5):
        client, server = await ws_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(expect_closed, server.receive_message, 1001)
            nursery.start_soon(expect_closed, client.receive_message, 1001)
            await trio.testing.wait_all_tasks_blocked()
            await server.aclose(1001, "going away")
        await client.aclose()


async def test_unanswered_close_is_bounded_by_close_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        peer, server = await raw_pair(close_timeout=3)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(expect_closed, server.receive_message, 1000)
            await trio.testing.wait_all_tasks_blocked()
            start = trio.current_time()
            await server.aclose()  # the raw peer never answers the close frame
            assert trio.current_time() - start == pytest.approx(3)
        frame = await peer.read_frame()
        assert frame is not None
        assert frame[0] is Opcode.CLOSE
        assert await peer.read_frame() is None  # then TCP (here: the stream) was closed


async def test_aclose_is_idempotent() -> None:
    with trio.fail_after(5):
        client, server = await ws_pair()
        await close_both(client, server)
        with trio.testing.assert_checkpoints():
            await server.aclose()
        with pytest.raises(ConnectionClosed):
            await server.send_messages(["x"])


async def test_cancelled_before_writing_keeps_the_connection() -> None:
    with trio.fail_after(5):
        client, server = await ws_pair()
        with trio.CancelScope() as scope:
            scope.cancel()
            await server.send_message("never")
        assert scope.cancelled_caught
        await server.send_message("after")
        assert await client.receive_message() == "after"
        await close_both(client, server)


class HalfWriteStream(trio.abc.Stream):
    """Wraps a stream; the first write after ``arm()`` sends half its data then hangs."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.armed = False
        self.writes_after_cut = 0
        self.cut = False

    def arm(self) -> None:
        self.armed = True

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.cut:
            self.writes_after_cut += 1
        if self.armed:
            self.armed, self.cut = False, True
            await self.inner.send_all(bytes(data)[: len(data) // 2])
            await trio.sleep_forever()
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_cancelled_half_write_breaks_the_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        client_stream, server_stream = trio.testing.memory_stream_pair()
        wrapped = HalfWriteStream(server_stream)
        peer = RawPeer(client_stream)
        result: list[WebSocket | None] = []

        async def serve() -> None:
            result.append(await accept_websocket(wrapped))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            await peer.handshake()
        server = result[0]
        assert server is not None
        wrapped.arm()
        with trio.move_on_after(1):
            await server.send_message("x" * 1000)
        await expect_closed(lambda: server.send_message("more"), 1006)
        await expect_closed(server.receive_message, 1006)
        start = trio.current_time()
        await server.aclose()
        assert trio.current_time() == start  # no closing handshake on a broken stream
        assert wrapped.writes_after_cut == 0  # never a byte after a half-written frame


async def test_concurrent_reader_and_sender_tasks() -> None:
    with trio.fail_after(10):
        client, server = await ws_pair()
        count = 300

        async def echo_reader() -> None:
            for i in range(count):
                assert await server.receive_message() == f"c{i}"

        async def sender() -> None:
            for i in range(0, count, 3):
                await server.send_messages([f"s{i}", f"s{i + 1}", f"s{i + 2}"])

        async def client_side() -> None:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client_sender)
                for i in range(count):
                    assert await client.receive_message() == f"s{i}"

        async def client_sender() -> None:
            for i in range(count):
                await client.send_message(f"c{i}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(echo_reader)
            nursery.start_soon(sender)
            nursery.start_soon(client_side)
        await close_both(client, server)
