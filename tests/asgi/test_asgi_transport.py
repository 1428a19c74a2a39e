"""ASGIWebSocketTransport on an in-memory ASGI server: the accept, text and binary, the
server's close codes, our close (idempotent), and refusals before the accept."""

from __future__ import annotations

import orjson
import pytest
import trio
import trio.testing
from asgi_helpers import FakeASGIServer, websocket_scope

from trio_plivo import ConnectionClosed
from trio_plivo.asgi import ASGIWebSocketTransport, handshake_request
from trio_plivo.transport import MessageTransport


def transport_on(server: FakeASGIServer, **scope_options: object) -> ASGIWebSocketTransport:
    return ASGIWebSocketTransport(websocket_scope(**scope_options), server.receive, server.send)


async def test_first_receive_accepts_then_text_is_str_and_binary_is_bytes() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    assert isinstance(transport, MessageTransport)
    await server.push({"type": "websocket.connect"})
    await server.push({"type": "websocket.receive", "text": '{"event": "start"}', "bytes": None})
    await server.push({"type": "websocket.receive", "bytes": b"\x00\xff", "text": None})
    with trio.fail_after(5):
        assert not transport.accepted
        assert await transport.receive_message() == '{"event": "start"}'
        assert transport.accepted
        assert await transport.receive_message() == b"\x00\xff"
    assert server.sent == [{"type": "websocket.accept"}]


async def test_a_batch_goes_out_in_order_as_text_and_bytes_frames() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    await server.push({"type": "websocket.connect"})
    with trio.fail_after(5):
        await transport.send_messages(["one", b"two", "three"])
    assert server.sent == [
        {"type": "websocket.accept"},
        {"type": "websocket.send", "text": "one"},
        {"type": "websocket.send", "bytes": b"two"},
        {"type": "websocket.send", "text": "three"},
    ]


async def test_the_servers_disconnect_code_and_reason_reach_the_call() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    await server.push({"type": "websocket.connect"})
    await server.push({"type": "websocket.disconnect", "code": 4001, "reason": "bye"})
    with trio.fail_after(5):
        with pytest.raises(ConnectionClosed) as closed:
            await transport.receive_message()
        assert (closed.value.code, closed.value.reason) == (4001, "bye")
        assert transport.close_code == 4001
        with pytest.raises(ConnectionClosed) as again:  # still closed, no new event read
            await transport.receive_message()
        assert again.value.code == 4001
        with pytest.raises(ConnectionClosed):
            await transport.send_messages(["late"])
        await transport.aclose()  # the peer is gone: nothing to send
    assert server.sent == [{"type": "websocket.accept"}]


async def test_a_disconnect_without_a_code_is_1005() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    await server.push({"type": "websocket.connect"})
    await server.push({"type": "websocket.disconnect"})
    with trio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
        await transport.receive_message()
    assert closed.value.code == 1005


async def test_our_close_is_sent_once_and_then_every_operation_says_closed() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    await server.push({"type": "websocket.connect"})
    with trio.fail_after(5):
        await transport.accept()
        await transport.aclose(4403, "not this caller")
        await transport.aclose(1000)  # idempotent
        with pytest.raises(ConnectionClosed) as closed:
            await transport.receive_message()
        with pytest.raises(ConnectionClosed):
            await transport.send_messages(["late"])
    assert closed.value.code == 4403
    assert server.sent == [
        {"type": "websocket.accept"},
        {"type": "websocket.close", "code": 4403, "reason": "not this caller"},
    ]


async def test_closing_before_the_accept_answers_with_http_instead() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    with trio.fail_after(5):
        await transport.aclose(1013, "too many calls")
        await transport.aclose(1013, "too many calls")
    start, body = server.sent
    assert start["type"] == "websocket.http.response.start" and start["status"] == 503
    assert (b"content-type", b"application/json") in start["headers"]
    assert body["type"] == "websocket.http.response.body"
    assert orjson.loads(body["body"]) == {"error": "too many calls"}
    assert not transport.accepted


async def test_without_the_denial_extension_a_refusal_is_a_close_before_the_accept() -> None:
    server = FakeASGIServer()
    transport = transport_on(server, denial_extension=False)
    with trio.fail_after(5):
        await transport.deny(403, "invalid signature")
    assert server.sent == [{"type": "websocket.close", "code": 1008, "reason": "invalid signature"}]
    with pytest.raises(ConnectionClosed):
        await transport.receive_message()


async def test_deny_after_the_accept_is_a_mistake() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    await server.push({"type": "websocket.connect"})
    with trio.fail_after(5):
        await transport.accept()
        with pytest.raises(RuntimeError, match="aclose"):
            await transport.deny(403, "too late")


async def test_a_client_gone_before_the_accept_closes_the_transport() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    await server.push({"type": "websocket.disconnect", "code": 1006})
    with trio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
        await transport.receive_message()
    assert closed.value.code == 1006
    assert server.sent == []


async def test_a_send_the_server_refuses_means_the_peer_left() -> None:
    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(event: object) -> None:
        if event != {"type": "websocket.accept"}:
            raise OSError("connection closed")

    transport = ASGIWebSocketTransport(websocket_scope(), receive, send)
    with trio.fail_after(5):
        with pytest.raises(ConnectionClosed) as closed:
            await transport.send_messages(["frame"])
        assert closed.value.code == 1006
        await transport.aclose()  # no error either


async def test_concurrent_first_uses_accept_once() -> None:
    server = FakeASGIServer()
    transport = transport_on(server)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(transport.send_messages, ["a"])
            nursery.start_soon(transport.send_messages, ["b"])
            await trio.testing.wait_all_tasks_blocked()
            await server.push({"type": "websocket.connect"})
    assert [e["type"] for e in server.sent] == ["websocket.accept", *["websocket.send"] * 2]


def test_the_request_comes_from_the_scope_and_no_header_value_reaches_the_repr() -> None:
    scope = websocket_scope(
        "/calls/stream",
        query=b"tenant=7",
        headers=[(b"x-plivo-signature-v3", b"s3cret-signature")],
    )
    request = handshake_request(scope)
    assert (request.method, request.path, request.query) == ("GET", "/calls/stream", "tenant=7")
    assert request.target == "/calls/stream?tenant=7"
    assert request.headers.get("X-Plivo-Signature-V3") == "s3cret-signature"
    assert request.headers.get("Host") == "bot.example.com"
    assert request.remote == ("203.0.113.7", 40123)
    server = FakeASGIServer()
    transport = ASGIWebSocketTransport(scope, server.receive, server.send)
    assert "s3cret" not in repr(transport)
    assert "/calls/stream" in repr(transport)


def test_only_websocket_scopes() -> None:
    server = FakeASGIServer()
    with pytest.raises(ValueError, match="http"):
        ASGIWebSocketTransport({"type": "http"}, server.receive, server.send)
