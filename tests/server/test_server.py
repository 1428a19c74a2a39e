"""The stream server over real loopback sockets: isolation, limits, shutdown, embedding."""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio_websocket

from trio_plivo import CallClosed
from trio_plivo.apps import echo
from trio_plivo.call import Call
from trio_plivo.server import StreamServer
from trio_plivo.transport import TrioWebsocketTransport
from trio_plivo.ws import HTTPResponse, WebSocket, WebSocketHandshakeError, connect_websocket

SID = "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655"


def start_message(call_id: str = "call-1") -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": 1,
            "start": {
                "callId": call_id,
                "streamId": SID,
                "accountId": "MA1",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
            },
        }
    )


def media_message(payload: bytes, chunk: int) -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": chunk + 1,
            "streamId": SID,
            "media": {
                "track": "inbound",
                "timestamp": str(20 * chunk),
                "chunk": chunk,
                "payload": base64.b64encode(payload).decode(),
            },
        }
    )


@asynccontextmanager
async def running(server: StreamServer) -> AsyncIterator[StreamServer]:
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, "127.0.0.1", 0)
        yield server
        server.shutdown()


def url(server: StreamServer, path: str = "/stream") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


async def drain(ws: WebSocket) -> None:
    while True:
        await ws.receive_message()


async def echo_round_trip(ws: WebSocket, frames: int = 10, seed: int = 0) -> None:
    """Send ``frames`` media frames and check they all come back as playAudio, in order."""
    sent = [bytes([(seed + i) % 256]) * 160 for i in range(frames)]
    for i, payload in enumerate(sent):
        await ws.send_message(media_message(payload, i + 1))
    got = []
    while len(got) < frames:
        message = json.loads(await ws.receive_message())
        assert message["event"] == "playAudio"
        assert message["media"]["contentType"] == "audio/x-mulaw"
        got.append(base64.b64decode(message["media"]["payload"]))
    assert got == sent


async def test_echo_over_loopback() -> None:
    with trio.fail_after(10):
        async with running(StreamServer(echo)) as server:
            ws = await connect_websocket(url(server))
            await ws.send_message(start_message())
            await echo_round_trip(ws)
            await ws.send_message(
                json.dumps({"event": "dtmf", "streamId": SID, "dtmf": {"digit": "5"}})
            )
            message = json.loads(await ws.receive_message())
            assert message == {"event": "checkpoint", "streamId": SID, "name": "dtmf-5"}
            await ws.aclose()


async def test_bad_calls_never_disturb_a_healthy_one(caplog) -> None:
    async def handler(call: Call) -> None:
        if call.call_id == "crash":
            raise RuntimeError("handler bug")
        await echo(call)

    caplog.set_level(logging.INFO)
    with trio.fail_after(20):
        async with running(StreamServer(handler, max_message_size=1 << 20)) as server:
            healthy = await connect_websocket(url(server))
            await healthy.send_message(start_message("healthy"))
            await echo_round_trip(healthy, seed=1)

            # a handler that raises: closed with 1011
            crash = await connect_websocket(url(server))
            await crash.send_message(start_message("crash"))
            with pytest.raises(CallClosed) as info:
                await crash.receive_message()
            assert info.value.code == 1011
            await crash.aclose()
            await echo_round_trip(healthy, seed=2)

            # garbage of every kind on one connection: logged and skipped
            noisy = await connect_websocket(url(server), max_message_size=4 << 20)
            await noisy.send_message(media_message(b"\x00" * 160, 1))  # media before start
            await noisy.send_message(start_message("noisy"))
            await noisy.send_messages(
                [
                    "{not json",
                    b"\x00\x01binary",
                    json.dumps({"event": "whatIsThis", "streamId": SID}),
                ]
            )
            await echo_round_trip(noisy, frames=3, seed=3)
            await echo_round_trip(healthy, seed=4)

            # a 2 MB message: the connection is closed with 1009 (message too big)
            await noisy.send_message("x" * (2 << 20))
            with pytest.raises(CallClosed) as info:
                await drain(noisy)
            assert info.value.code == 1009
            await noisy.aclose()
            await echo_round_trip(healthy, seed=5)

            # an abrupt TCP close in the middle of a frame
            raw = socket.create_connection(("127.0.0.1", server.port))
            raw.sendall(
                b"GET /stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            await trio.to_thread.run_sync(raw.recv, 4096)
            raw.sendall(b"\x81\xfe\x01\x00" + b"\x00" * 4 + b"partial")  # masked text frame, cut
            raw.close()
            await echo_round_trip(healthy, seed=6)
            await healthy.aclose()
    assert "handler bug" in caplog.text
    assert "malformed" in caplog.text


async def test_other_paths_are_refused_before_the_upgrade() -> None:
    calls: list[Call] = []

    async def handler(call: Call) -> None:
        calls.append(call)

    with trio.fail_after(10):
        async with running(StreamServer(handler)) as server:
            with pytest.raises(WebSocketHandshakeError) as info:
                await connect_websocket(url(server, "/elsewhere"))
            assert info.value.status_code == 404
    assert calls == []


async def test_max_calls_and_health_route() -> None:
    def health(request):
        return HTTPResponse(200, b"ok\n") if request.path == "/healthz" else None

    with trio.fail_after(10):
        async with running(StreamServer(echo, max_calls=1, http_routes=[health])) as server:
            first = await connect_websocket(url(server))
            await first.send_message(start_message())
            await echo_round_trip(first, frames=1)
            with pytest.raises(WebSocketHandshakeError) as info:
                await connect_websocket(url(server))
            assert info.value.status_code == 503
            with pytest.raises(WebSocketHandshakeError) as info:
                await connect_websocket(url(server, "/healthz"))
            assert info.value.status_code == 200
            assert info.value.body == b"ok\n"
            assert server.active_calls == 1
            await first.aclose()


async def test_graceful_shutdown_lets_calls_finish_then_cancels() -> None:
    started, finished = trio.Event(), trio.Event()

    async def quick(call: Call) -> None:
        started.set()
        await trio.sleep(0.2)
        finished.set()

    with trio.fail_after(10):
        server = StreamServer(quick, shutdown_grace=5)
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, "127.0.0.1", 0)
            ws = await connect_websocket(url(server))
            await ws.send_message(start_message())
            await started.wait()
            server.shutdown()
            # Still listening while it drains (a load balancer's health check gets its
            # answer), but a new call is refused.
            with pytest.raises(WebSocketHandshakeError) as refused:
                await connect_websocket(url(server))
            assert refused.value.status_code == 503
            with pytest.raises(CallClosed) as info:
                await ws.receive_message()
            assert info.value.code == 1000  # the handler finished on its own
            await ws.aclose()
        assert finished.is_set()

        # a call that would never finish is cancelled after the grace period: 1001
        server = StreamServer(echo, shutdown_grace=0.2)
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, "127.0.0.1", 0)
            ws = await connect_websocket(url(server))
            await ws.send_message(start_message())
            await echo_round_trip(ws, frames=1)
            server.shutdown()
            with pytest.raises(CallClosed) as info:
                await drain(ws)
            assert info.value.code == 1001
            await ws.aclose()


async def test_call_over_an_existing_trio_websocket_server() -> None:
    server = StreamServer(echo)

    async def trio_websocket_handler(request: trio_websocket.WebSocketRequest) -> None:
        connection = await request.accept()
        await server.handle_transport(TrioWebsocketTransport(connection))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            tws = await nursery.start(
                trio_websocket.serve_websocket, trio_websocket_handler, "127.0.0.1", 0, None
            )
            ws = await connect_websocket(f"ws://127.0.0.1:{tws.port}/")
            await ws.send_message(start_message())
            await echo_round_trip(ws)
            await ws.aclose()
            nursery.cancel_scope.cancel()


async def test_max_calls_holds_when_calls_arrive_together() -> None:
    """Issue #15 defect 2: the slot is reserved when the upgrade is routed, before the 101 is
    written, so 20 clients connecting at the same moment against max_calls=10 get exactly 10
    upgrades and 10 refusals, however the handshakes interleave."""
    upgraded: list[object] = []
    refused: list[int] = []

    async def dial(server: StreamServer) -> None:
        try:
            upgraded.append(await connect_websocket(url(server)))
        except WebSocketHandshakeError as exc:
            refused.append(exc.status_code)

    with trio.fail_after(10):
        async with running(StreamServer(echo, max_calls=10)) as server:
            async with trio.open_nursery() as nursery:
                for _ in range(20):
                    nursery.start_soon(dial, server)
            assert (len(upgraded), refused) == (10, [503] * 10)
            assert server.active_calls == 10
            for ws in upgraded:
                await ws.aclose()  # type: ignore[attr-defined]


async def test_a_replayed_signed_upgrade_is_refused() -> None:
    """Plivo's V3 signature has a nonce and no timestamp: the same signed request presented
    twice is a replay, refused with 403 (issue #15, defect 4)."""
    from trio_plivo.signatures import SignatureValidator, signature_headers

    token = "replay-test-auth-token-1234"
    server = StreamServer(echo, signature_validator=SignatureValidator(token))
    with trio.fail_after(10):
        async with running(server) as server:
            target = url(server)
            headers = signature_headers(target, token, method="GET")
            first = await connect_websocket(target, headers=headers)
            await first.aclose()
            with pytest.raises(WebSocketHandshakeError) as replayed:
                await connect_websocket(target, headers=headers)
            fresh = await connect_websocket(
                target, headers=signature_headers(target, token, method="GET")
            )
            await fresh.aclose()
    assert replayed.value.status_code == 403 and replayed.value.body == b"replayed signature\n"
    assert server.replays == 1
