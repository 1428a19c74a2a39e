"""Real sockets on 127.0.0.1: size limits under load, abrupt TCP loss, and interop with
trio-websocket as the independent peer in both roles."""

from __future__ import annotations

import contextlib
import socket
from functools import partial

import pytest
import trio
import trio.testing
import trio_websocket
from websockets.frames import Frame, Opcode

from trio_plivo import ConnectionClosed
from trio_plivo.ws import HandshakeRequest, WebSocket, accept_websocket, connect_websocket

KEY_REQUEST = (
    b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class EchoServer:
    """Our server on a loopback port: echoes every message, records how each call ended."""

    def __init__(self) -> None:
        self.port = 0
        self.closed: list[ConnectionClosed] = []
        self.requests: list[HandshakeRequest] = []
        self.max_message_size = 1 << 20
        self.call_ended = trio.Event()

    async def handle(self, stream: trio.SocketStream) -> None:
        ws = await accept_websocket(stream, max_message_size=self.max_message_size)
        if ws is None:
            return
        assert ws.request is not None
        self.requests.append(ws.request)
        try:
            while True:
                message = await ws.receive_message()
                await ws.send_message(message)
        except ConnectionClosed as exc:
            self.closed.append(exc)
        finally:
            await ws.aclose()
            self.call_ended.set()


@pytest.fixture
async def echo_server(nursery: trio.Nursery) -> EchoServer:
    server = EchoServer()
    listeners = await nursery.start(partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
    server.port = listeners[0].socket.getsockname()[1]
    return server


async def test_remote_address_is_known(echo_server: EchoServer) -> None:
    with trio.fail_after(10):
        ws = await connect_websocket(f"ws://127.0.0.1:{echo_server.port}/echo?a=1")
        await ws.send_message("hi")
        assert await ws.receive_message() == "hi"
        await ws.aclose()
        request = echo_server.requests[0]
        assert request.remote is not None
        assert request.remote[0] == "127.0.0.1"
        assert request.query == "a=1"


async def test_large_messages_cross_partial_writes_and_reads(echo_server: EchoServer) -> None:
    with trio.fail_after(10):
        ws = await connect_websocket(f"ws://127.0.0.1:{echo_server.port}/echo")
        big = bytes(range(256)) * 3000  # 768 kB: many partial writes and 64 KiB reads
        await ws.send_messages([big, "after"])
        assert await ws.receive_message() == big
        assert await ws.receive_message() == "after"
        await ws.aclose()


async def test_aclose_wakes_a_reader_blocked_on_the_socket(nursery: trio.Nursery) -> None:
    with trio.fail_after(10):
        server_side: list[WebSocket] = []
        accepted = trio.Event()

        async def handler(stream: trio.SocketStream) -> None:
            ws = await accept_websocket(stream)
            assert ws is not None
            server_side.append(ws)
            accepted.set()
            await trio.sleep_forever()  # never reads: the close handshake must time out

        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        ws = await connect_websocket(f"ws://127.0.0.1:{port}/", close_timeout=0.2)
        await accepted.wait()
        async with trio.open_nursery() as inner:

            async def reader() -> None:
                with pytest.raises(ConnectionClosed) as info:
                    await ws.receive_message()
                assert info.value.code == 1000  # the code we sent; the peer never answered

            inner.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            await ws.aclose()
        await server_side[0].aclose()


@pytest.mark.slow
async def test_2mb_message_refused_while_another_call_keeps_working(
    echo_server: EchoServer,
) -> None:
    with trio.fail_after(20):
        url = f"ws://127.0.0.1:{echo_server.port}/echo"
        good = await connect_websocket(url)
        big = await connect_websocket(url)
        async with trio.open_nursery() as nursery:

            async def offender() -> None:
                # The server may stop reading before the whole message left.
                with contextlib.suppress(ConnectionClosed):
                    await big.send_message(b"\x00" * (2 << 20))
                with pytest.raises(ConnectionClosed) as info:
                    await big.receive_message()
                assert info.value.code == 1009

            nursery.start_soon(offender)
            for i in range(50):
                await good.send_message(f"frame {i}")
                assert await good.receive_message() == f"frame {i}"
        await big.aclose()
        await good.aclose()
        assert echo_server.closed[0].code == 1009


async def test_abrupt_tcp_close_mid_frame_is_1006(echo_server: EchoServer) -> None:
    with trio.fail_after(10):
        sock = trio.socket.socket()
        await sock.connect(("127.0.0.1", echo_server.port))
        await sock.send(KEY_REQUEST)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += await sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101")
        frame = Frame(Opcode.TEXT, b"x" * 1000).serialize(mask=True)
        await sock.send(frame[:300])
        # Reset (not FIN) so nothing about it looks like a clean end.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
        await echo_server.call_ended.wait()
        assert echo_server.closed[0].code == 1006


async def test_our_client_against_trio_websocket_server(nursery: trio.Nursery) -> None:
    with trio.fail_after(10):
        closes: list[int | None] = []
        handler_done = trio.Event()

        async def handler(request: trio_websocket.WebSocketRequest) -> None:
            conn = await request.accept()
            try:
                while True:
                    message = await conn.get_message()
                    if message == "close please":
                        await conn.aclose(1008, "policy")
                        return
                    await conn.send_message(message)
            except trio_websocket.ConnectionClosed as exc:
                closes.append(exc.reason.code)
                handler_done.set()

        server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
        url = f"ws://127.0.0.1:{server.port}/"
        ws = await connect_websocket(url)
        await ws.send_messages(["text", b"\x01\x02", "x" * 100_000])
        assert await ws.receive_message() == "text"
        assert await ws.receive_message() == b"\x01\x02"
        assert await ws.receive_message() == "x" * 100_000
        await ws.send_message("close please")
        with pytest.raises(ConnectionClosed) as info:
            await ws.receive_message()
        assert info.value.code == 1008
        await ws.aclose()

        ws = await connect_websocket(url)
        await ws.aclose(1011, "our error")
        await handler_done.wait()
        assert closes == [1011]


async def test_trio_websocket_client_against_our_server(echo_server: EchoServer) -> None:
    with trio.fail_after(10):
        url = f"ws://127.0.0.1:{echo_server.port}/echo"
        async with trio_websocket.open_websocket_url(url) as conn:
            await conn.send_message("hello")
            assert await conn.get_message() == "hello"
            await conn.send_message(b"\x00" * 5000)
            assert await conn.get_message() == b"\x00" * 5000
            await conn.ping(b"check")  # answered by our receive path
            await conn.aclose(1008, "bye")
        await echo_server.call_ended.wait()
        assert echo_server.closed[0].code == 1008


async def test_trio_websocket_client_sees_our_close_code(nursery: trio.Nursery) -> None:
    with trio.fail_after(10):

        async def handler(stream: trio.SocketStream) -> None:
            ws: WebSocket | None = await accept_websocket(stream)
            assert ws is not None
            await ws.receive_message()
            await ws.aclose(1011, "server failed")

        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        # trio-websocket leaks its socket when the server closes first (also against its own
        # server), so this test owns the TCP stream and closes it itself.
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        try:
            conn = await trio_websocket.wrap_client_stream(nursery, stream, "127.0.0.1", "/")
            await conn.send_message("go")
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                await conn.get_message()
            assert info.value.reason.code == 1011
            await conn.aclose()
        finally:
            await stream.aclose()
