"""Opening handshake, both roles, over in-memory streams (no sockets)."""

from __future__ import annotations

import base64
import hashlib

import pytest
import trio
import trio.testing
from websockets.frames import Frame, Opcode

from trio_plivo.ws import (
    HandshakeRequest,
    Headers,
    HTTPResponse,
    WebSocket,
    WebSocketHandshakeError,
    accept_websocket,
    connect_websocket_stream,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
UPGRADE = (
    "GET /stream?callId=42&x=1 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "X-Plivo-Signature-V3: abc\r\n"
    "\r\n"
).encode()


async def read_until_eof(stream: trio.abc.ReceiveStream) -> bytes:
    chunks = []
    while chunk := await stream.receive_some():
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def serve_one(
    stream: trio.abc.Stream, results: list[WebSocket | None], **kwargs: object
) -> None:
    results.append(await accept_websocket(stream, **kwargs))  # type: ignore[arg-type]


async def plain_answer(request: bytes, **kwargs: object) -> bytes:
    """Send ``request`` to a server, read its whole answer; the server must not upgrade."""
    with trio.fail_after(5):
        client, server = trio.testing.memory_stream_pair()
        results: list[WebSocket | None] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: serve_one(server, results, **kwargs))
            await client.send_all(request)
            answer = await read_until_eof(client)
    assert results == [None]
    return answer


async def test_accept_exposes_request_and_answers_101(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        client, server = trio.testing.memory_stream_pair()
        seen: list[HandshakeRequest] = []

        def route(request: HandshakeRequest) -> HTTPResponse | None:
            seen.append(request)
            return None

        results: list[WebSocket | None] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: serve_one(server, results, route=route))
            await client.send_all(UPGRADE)
        ws = results[0]
        assert ws is not None
        assert ws.request is seen[0]
        request = seen[0]
        assert request.method == "GET"
        assert request.target == "/stream?callId=42&x=1"
        assert request.path == "/stream"
        assert request.query == "callId=42&x=1"
        assert request.headers.get("x-plivo-signature-v3") == "abc"
        assert ("X-Plivo-Signature-V3", "abc") in list(request.headers)
        assert request.remote is None  # memory streams have no address
        answer = await client.receive_some()
        assert answer.startswith(b"HTTP/1.1 101 ")
        expected = base64.b64encode(
            hashlib.sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        )
        assert b"Sec-WebSocket-Accept: " + expected in answer
        await ws.aclose()


@pytest.mark.parametrize(
    ("status", "body"), [(404, b"no such stream"), (403, b"bad signature"), (200, b"ok")]
)
async def test_route_answers_before_upgrade(status: int, body: bytes) -> None:
    answer = await plain_answer(UPGRADE, route=lambda r: HTTPResponse(status, body))
    assert status_of(answer) == status
    head, _, got_body = answer.partition(b"\r\n\r\n")
    assert got_body == body
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"Content-Type: text/plain; charset=utf-8" in head


async def test_route_answers_plain_http_health_check() -> None:
    def route(request: HandshakeRequest) -> HTTPResponse | None:
        if request.path == "/health":
            return HTTPResponse(
                200, b'{"ok":true}', (("X-Extra", "1"),), content_type="application/json"
            )
        return HTTPResponse(404)

    answer = await plain_answer(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", route=route)
    assert status_of(answer) == 200
    assert b"X-Extra: 1" in answer
    assert b"Content-Type: application/json" in answer
    assert answer.endswith(b'\r\n\r\n{"ok":true}')


async def test_plain_http_without_route_is_refused() -> None:
    answer = await plain_answer(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    # A well-formed HTTP request that is not an upgrade: 426 Upgrade Required.
    assert status_of(answer) == 426
    assert b"Upgrade: websocket" in answer


async def test_garbage_gets_400() -> None:
    answer = await plain_answer(b"HELLO THERE\r\n\r\n")
    assert status_of(answer) == 400


async def test_route_exception_answers_500_and_propagates() -> None:
    def route(request: HandshakeRequest) -> HTTPResponse | None:
        raise RuntimeError("route bug")

    with trio.fail_after(5):
        client, server = trio.testing.memory_stream_pair()
        await client.send_all(UPGRADE)
        with pytest.raises(RuntimeError, match="route bug"):
            await accept_websocket(server, route=route)
        assert status_of(await read_until_eof(client)) == 500


async def test_handshake_timeout_closes_stream(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        client, server = trio.testing.memory_stream_pair()
        await client.send_all(UPGRADE[:20])  # a request that never completes
        start = trio.current_time()
        assert await accept_websocket(server, handshake_timeout=7) is None
        assert trio.current_time() - start == pytest.approx(7)
        assert await read_until_eof(client) == b""


async def test_client_gets_eof_before_request_none() -> None:
    with trio.fail_after(5):
        client, server = trio.testing.memory_stream_pair()
        await client.send_eof()
        assert await accept_websocket(server) is None


async def test_frames_sent_with_the_request_are_not_lost(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        client, server = trio.testing.memory_stream_pair()
        frame = Frame(Opcode.TEXT, b'{"event":"start"}').serialize(mask=True)
        await client.send_all(UPGRADE + frame)
        ws = await accept_websocket(server)
        assert ws is not None
        assert await ws.receive_message() == '{"event":"start"}'
        await ws.aclose()


async def test_client_role_handshake_and_headers() -> None:
    with trio.fail_after(5):
        client, server = trio.testing.memory_stream_pair()
        seen: list[HandshakeRequest] = []

        def route(request: HandshakeRequest) -> None:
            seen.append(request)

        results: list[WebSocket | None] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: serve_one(server, results, route=route))
            ws = await connect_websocket_stream(
                client, "plivo.example:8080", "/audio?x=1", headers={"X-Test": "yes"}
            )
        assert ws.is_client
        assert seen[0].target == "/audio?x=1"
        assert seen[0].headers.get("host") == "plivo.example:8080"
        assert seen[0].headers.get("X-TEST") == "yes"
        server_ws = results[0]
        assert server_ws is not None
        await ws.send_message("ping")
        assert await server_ws.receive_message() == "ping"
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ws.aclose)
            nursery.start_soon(server_ws.aclose)


async def test_client_refused_raises_with_status_and_body() -> None:
    with trio.fail_after(5):
        client, server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                lambda: serve_one(server, [], route=lambda r: HTTPResponse(403, b"denied"))
            )
            with pytest.raises(WebSocketHandshakeError) as info:
                await connect_websocket_stream(client, "h", "/")
        assert info.value.status_code == 403
        assert info.value.body == b"denied"
        assert info.value.headers.get("content-length") == "6"


async def test_client_handshake_timeout(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        client, _server = trio.testing.memory_stream_pair()  # nobody answers
        with pytest.raises(WebSocketHandshakeError) as info:
            await connect_websocket_stream(client, "h", "/", connect_timeout=3)
        assert info.value.status_code is None
        assert trio.current_time() == pytest.approx(3)


def test_headers_multimap() -> None:
    headers = Headers([("A", "1"), ("b", "2"), ("a", "3")])
    assert headers.get("a") == "1"
    assert headers.get_all("A") == ["1", "3"]
    assert headers.get("missing") is None
    assert headers.get("missing", "d") == "d"
    assert "B" in headers
    assert list(headers) == [("A", "1"), ("b", "2"), ("a", "3")]
    assert len(headers) == 3
    assert headers == Headers([("A", "1"), ("b", "2"), ("a", "3")])


async def read_exactly(stream: trio.abc.ReceiveStream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await stream.receive_some(size - len(data))
        assert chunk, f"stream ended after {data!r}"
        data += chunk
    return data


async def read_head(stream: trio.abc.ReceiveStream) -> bytes:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += await read_exactly(stream, 1)
    return head


async def test_a_ping_sent_with_the_request_is_answered_after_the_101_at_once() -> None:
    # The server must neither write the pong ahead of its 101 nor keep it until the client
    # sends something else: here the server task never reads after the handshake.
    with trio.fail_after(5):
        client, server = trio.testing.memory_stream_pair()
        ping = Frame(Opcode.PING, b"are-you-there").serialize(mask=True, extensions=[])
        await client.send_all(UPGRADE + ping)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve_one, server, [])
            head = await read_head(client)
            assert status_of(head) == 101
            pong = Frame(Opcode.PONG, b"are-you-there").serialize(mask=False, extensions=[])
            assert await read_exactly(client, len(pong)) == pong


async def test_a_ping_right_behind_the_101_is_answered_before_the_client_reads() -> None:
    with trio.fail_after(5):
        client, server = trio.testing.memory_stream_pair()

        async def server_that_pings_at_once() -> None:
            request = await read_head(server)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(
                hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
            )
            answer = (
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            ping = Frame(Opcode.PING, b"hello").serialize(mask=False, extensions=[])
            await server.send_all(answer + ping)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(server_that_pings_at_once)
            ws = await connect_websocket_stream(client, "h", "/")
        # The client has not read since the handshake; its pong is on the wire already.
        pong = await read_exactly(server, 2 + 4 + len(b"hello"))  # masked: header, key, data
        assert pong[0] == 0x8A  # FIN + PONG
        assert pong[1] == 0x80 | len(b"hello")
        mask, data = pong[2:6], pong[6:]
        assert bytes(b ^ mask[i % 4] for i, b in enumerate(data)) == b"hello"
        await trio.aclose_forcefully(ws._stream)
