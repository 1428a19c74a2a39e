"""WebSocket upgrades through the one-port front (and the stream server's own signature
check): refused with 403 before any call exists, or handed on byte for byte."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from web_helpers import TOKEN, request, running
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from trio_plivo.call import Call
from trio_plivo.server import StreamServer
from trio_plivo.signatures import SignatureValidator, signature_headers
from trio_plivo.testing import CallerAudio, FakePlivo
from trio_plivo.web import PlivoFront
from trio_plivo.ws import HTTPResponse, WebSocketHandshakeError, connect_websocket


def recording_app(calls: list[str]):
    async def app(call: Call) -> None:
        calls.append(call.call_id)

    return app


@pytest.mark.parametrize("public_url", [None, "wss://bot.example.com/stream"])
async def test_forged_upgrade_is_refused_before_any_call_valid_one_runs(public_url) -> None:
    calls: list[str] = []
    validator = SignatureValidator(TOKEN, public_url=public_url)
    server = StreamServer(recording_app(calls), signature_validator=validator)
    front = PlivoFront(server, public_url=public_url)
    with trio.fail_after(10):
        async with running(front):
            url = f"ws://127.0.0.1:{front.port}/stream"
            signed_for = public_url or url
            forged = signature_headers(signed_for, "a-guessed-token", method="GET")
            with pytest.raises(WebSocketHandshakeError) as refused:
                await connect_websocket(url, headers=forged)
            with pytest.raises(WebSocketHandshakeError) as unsigned:
                await connect_websocket(url)
            assert server.total_calls == 0 and calls == []  # no handler, no call resources

            valid = signature_headers(signed_for, TOKEN, method="GET")
            report = await FakePlivo(duration=0.2, call_id="signed-call").run_url(
                url, headers=valid
            )
    assert refused.value.status_code == 403
    assert unsigned.value.status_code == 403
    assert calls == ["signed-call"]
    assert report.violations == ()


async def test_stream_server_alone_checks_the_addressed_url_without_public_url() -> None:
    # No front, no public_url: the URL the upgrade addressed (Host or X-Forwarded-Host).
    calls: list[str] = []
    server = StreamServer(recording_app(calls), signature_validator=SignatureValidator(TOKEN))
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, "127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}/stream"
        with trio.fail_after(10):
            await FakePlivo(duration=0.1, call_id="direct").run_url(
                url, headers=signature_headers(url, TOKEN, method="GET")
            )
            proxied = "wss://bot.example.com/stream?tenant=7"
            await FakePlivo(duration=0.1, call_id="proxied").run_url(
                f"{url}?tenant=7",
                headers={
                    "X-Forwarded-Host": "bot.example.com",
                    **signature_headers(proxied, TOKEN, method="GET"),
                },
            )
            # A valid signature for another host is not valid here.
            other = signature_headers("wss://other.example.com/stream", TOKEN, method="GET")
            with pytest.raises(WebSocketHandshakeError) as info:
                await connect_websocket(url, headers=other)
        server.shutdown()
    assert info.value.status_code == 403
    assert calls == ["direct", "proxied"]


async def test_the_upgrade_and_bytes_behind_it_arrive_unchanged() -> None:
    """The client sends the upgrade and its first frame in one write: the front read both
    while parsing the head, and the stream server must still see both."""
    got: list[str] = []

    async def app(call: Call) -> None:
        got.append(call.call_id)

    front = PlivoFront(StreamServer(app))
    client_end, server_end = trio.testing.memory_stream_pair()
    protocol = ClientProtocol(parse_uri("ws://bot.example.com/stream"))
    start = json.dumps(
        {
            "event": "start",
            "sequenceNumber": 1,
            "start": {
                "callId": "early-bird",
                "streamId": "s",
                "accountId": "MA",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
            },
        }
    )
    protocol.send_request(protocol.connect())
    head = b"".join(protocol.data_to_send())
    # Framed and masked as a client must (building it needs no handshake answer).
    frame = Frame(Opcode.TEXT, start.encode()).serialize(mask=True)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle_connection, server_end)
            await client_end.send_all(head + frame)
            answer = await client_end.receive_some()
            assert answer.startswith(b"HTTP/1.1 101")
            while not got:
                await trio.testing.wait_all_tasks_blocked()
            await client_end.aclose()
    assert got == ["early-bird"]


async def test_unsigned_http_routes_of_the_stream_server_still_work() -> None:
    from trio_plivo.ws import HTTPResponse

    def version(req):
        return HTTPResponse(200, b"v1\n") if req.path == "/version" else None

    front = PlivoFront(StreamServer(recording_app([]), http_routes=[version]))
    with trio.fail_after(10):
        async with running(front):
            answer = await request(front.port, "GET", "/version")
    assert (answer.status, answer.body) == (200, b"v1\n")


async def test_many_calls_through_the_front(nursery) -> None:
    front = PlivoFront(StreamServer(recording_app([])))
    await nursery.start(front.serve, "127.0.0.1", 0)
    url = f"ws://127.0.0.1:{front.port}/stream"
    with trio.fail_after(20):
        async with trio.open_nursery() as calls:
            for _ in range(5):
                calls.start_soon(FakePlivo(audio=CallerAudio.silence(0.1)).run_url, url)
    assert front.server.total_calls == 5
    front.shutdown()


async def test_the_peer_address_survives_the_front() -> None:
    seen: list[object] = []

    def remember(request):
        seen.append(request.remote)
        return HTTPResponse(200, b"ok")

    front = PlivoFront(StreamServer(recording_app([]), http_routes=[remember]))
    with trio.fail_after(10):
        async with running(front):
            with pytest.raises(WebSocketHandshakeError):  # answered with plain HTTP 200
                await connect_websocket(f"ws://127.0.0.1:{front.port}/stream")
    assert len(seen) == 1
    assert seen[0] is not None
    assert seen[0][0] == "127.0.0.1"
