"""StreamASGIApp and serve_asgi_websocket on an in-memory ASGI server (virtual time): a whole
call (echo, a mark, a clear), refusals before the upgrade (path, capacity, drain, signature,
replay), the on_connect hooks, plain HTTP and the lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest
import trio
import trio.testing
from asgi_helpers import FakeASGIServer, eventually, websocket_scope

from trio_plivo import CallRefused
from trio_plivo.apps import echo
from trio_plivo.asgi import StreamASGIApp, serve_asgi_websocket
from trio_plivo.call import Call, CallHooks
from trio_plivo.fleet import FleetError
from trio_plivo.server import StreamServer
from trio_plivo.signatures import NONCE_HEADER, SignatureValidator, signature_headers
from trio_plivo.testing import CallerAudio, CallReport, FakePlivo, FakeProvider
from trio_plivo.ws import HandshakeRequest

TOKEN = "asgi-test-auth-token"


async def run_call(app: Any, fake: FakeProvider, scope: dict[str, Any] | None = None) -> CallReport:
    """One simulated provider stream through ``app`` over an in-memory ASGI connection."""
    server = FakeASGIServer()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app, scope or websocket_scope(), server.receive, server.send)
            return await fake.run_on(server.client())


async def refusal_of(app: Any, scope: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body ``app`` refuses this upgrade with (before any accept)."""
    server = FakeASGIServer()
    await server.push({"type": "websocket.connect"})
    with trio.fail_after(10):
        await app(scope, server.receive, server.send)
    start, body = server.sent
    assert start["type"] == "websocket.http.response.start", server.sent
    return start["status"], orjson.loads(body["body"])


def header_list(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


async def test_a_whole_call_through_the_mounted_app_echo_mark_and_clear(autojump_clock) -> None:
    app = StreamASGIApp(echo)
    fake = FakePlivo(audio=CallerAudio.demo(), dtmf=[("5", 1.0), ("*", 2.0)])
    report = await run_call(app, fake)
    assert report.violations == ()
    assert report.counts.play_audio_received == report.counts.media_sent > 0
    assert [(c.name, c.outcome) for c in report.checkpoints] == [("dtmf-5", "played")]
    assert len(report.clears) == 1
    assert app.server.total_calls == 1 and app.server.active_calls == 0


async def test_the_route_function_runs_the_servers_handler_and_detects_twilio(
    autojump_clock,
) -> None:
    seen: list[str | None] = []

    async def handler(call: Call) -> None:
        seen.append(call.provider)

    app = StreamASGIApp(handler)  # from a handler: the provider is detected

    async def route(scope: Any, receive: Any, send: Any) -> None:
        await serve_asgi_websocket(scope, receive, send, app.server)

    report = await run_call(route, FakeProvider(provider="twilio", duration=0.5))
    assert seen == ["twilio"]
    assert report.violations == ()


async def test_another_path_is_refused_with_404_before_the_upgrade() -> None:
    app = StreamASGIApp(echo, path="/stream")
    status, body = await refusal_of(app, websocket_scope("/other"))
    assert (status, body) == (404, {"error": "not found"})
    assert app.server.refusals[404] == 1 and app.server.total_calls == 0


async def test_past_max_calls_and_while_draining_503_before_the_upgrade(autojump_clock) -> None:
    release = trio.Event()

    async def handler(call: Call) -> None:
        await release.wait()

    app = StreamASGIApp(handler, max_calls=1)
    first = FakeASGIServer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, websocket_scope(), first.receive, first.send)
        nursery.start_soon(FakePlivo(duration=5.0).run_on, first.client())
        await eventually(lambda: app.server.active_calls == 1, "the first call")
        assert await refusal_of(app, websocket_scope()) == (503, {"error": "too many calls"})
        app.server.shutdown()
        release.set()
    assert await refusal_of(app, websocket_scope()) == (503, {"error": "shutting down"})
    assert app.server.refusals[503] == 2 and app.server.total_calls == 1


async def test_an_unsigned_upgrade_is_refused_before_any_app_code_and_a_signed_one_runs(
    autojump_clock, caplog
) -> None:
    caplog.set_level("DEBUG")
    calls: list[str | None] = []
    hooked: list[str] = []

    async def handler(call: Call) -> None:
        calls.append(call.call_id)

    server = StreamServer(
        handler,
        signature_validator=SignatureValidator(TOKEN),
        on_connect=lambda request: hooked.append(request.path),
    )
    app = StreamASGIApp(server)
    assert await refusal_of(app, websocket_scope()) == (403, {"error": "invalid signature"})
    forged = header_list(signature_headers("ws://bot.example.com/stream", "guessed", method="GET"))
    assert (await refusal_of(app, websocket_scope(headers=forged)))[0] == 403
    assert calls == [] and hooked == []  # neither the hook nor the handler ran

    signed = header_list(signature_headers("ws://bot.example.com/stream", TOKEN, method="GET"))
    report = await run_call(
        app, FakePlivo(duration=0.2, call_id="signed"), websocket_scope(headers=signed)
    )
    assert calls == ["signed"] and hooked == ["/stream"]
    assert report.violations == ()
    # The same signed request again: a replay, refused although its signature is valid.
    assert await refusal_of(app, websocket_scope(headers=signed)) == (
        403,
        {"error": "replayed signature"},
    )
    assert server.replays == 1 and server.refusals[403] == 3 and server.total_calls == 1
    assert TOKEN not in repr(app)
    # The refusals were logged (debug: path, peer, status), never a signature or a nonce.
    assert "refused /stream from ('203.0.113.7', 40123): 403 invalid signature" in caplog.text
    for name, value in forged + signed:
        if name.startswith(b"x-plivo-signature"):
            assert value.decode() not in caplog.text


class UnreachableNonces:
    """A shared nonce cache whose store is down."""

    async def seen_before(self, nonce: str) -> bool:
        raise FleetError("the nonce store is down")


class RememberingNonces:
    """A shared nonce cache that remembers every nonce (as Redis would, fleet-wide)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def seen_before(self, nonce: str) -> bool:
        await trio.lowlevel.checkpoint()
        seen = nonce in self.seen
        self.seen.add(nonce)
        return seen


async def test_a_shared_nonce_cache_is_asked_and_counted_as_on_the_native_port(
    autojump_clock,
) -> None:
    # Through ASGI, a signed upgrade's nonce goes to the server's shared cache like on its own
    # port: a replay is refused and counted, and a cache that cannot answer refuses with 503,
    # counted as a failed replay check (the same counters as /metrics reads).
    signed = header_list(signature_headers("ws://bot.example.com/stream", TOKEN, method="GET"))
    down = StreamServer(echo, signature_validator=SignatureValidator(TOKEN))
    down.nonce_cache = UnreachableNonces()
    assert await refusal_of(StreamASGIApp(down), websocket_scope(headers=signed)) == (
        503,
        {"error": "cannot check the signature for a replay now"},
    )
    assert down.replay_check_failures == 1 and down.refusals[503] == 1

    shared = RememberingNonces()
    shared.seen.add(dict(signed)[NONCE_HEADER.lower().encode()].decode())  # seen elsewhere
    other = StreamServer(echo, signature_validator=SignatureValidator(TOKEN))
    other.nonce_cache = shared
    assert await refusal_of(StreamASGIApp(other), websocket_scope(headers=signed)) == (
        403,
        {"error": "replayed signature"},
    )
    assert other.replays == 1 and other.replay_check_failures == 0


async def test_on_connect_gets_the_request_from_the_scope_and_can_refuse(autojump_clock) -> None:
    requests: list[HandshakeRequest] = []
    hooks = CallHooks()

    @hooks.on_connect
    async def check(request: HandshakeRequest) -> None:
        requests.append(request)
        await trio.sleep(2.0)  # slow setup: the caller's frames wait, none is lost
        if request.query == "tenant=blocked":
            raise CallRefused("tenant blocked", code=4403)

    started: list[str | None] = []

    @hooks.on_start
    async def on_start(call: Call, start: object) -> None:
        started.append(call.call_id)

    app = StreamASGIApp(hooks)
    report = await run_call(
        app, FakePlivo(duration=0.5, call_id="ok"), websocket_scope(query=b"tenant=7")
    )
    assert started == ["ok"] and report.counts.media_sent == 25
    refused = await run_call(app, FakePlivo(duration=5.0), websocket_scope(query=b"tenant=blocked"))
    assert started == ["ok"]
    assert (refused.close.code, refused.close.by) == (4403, "app")
    assert [(r.path, r.query, r.remote) for r in requests] == [
        ("/stream", "tenant=7", ("203.0.113.7", 40123)),
        ("/stream", "tenant=blocked", ("203.0.113.7", 40123)),
    ]
    assert requests[0].headers.get("Host") == "bot.example.com"


async def test_plain_http_gets_json_404_405_or_426() -> None:
    app = StreamASGIApp(echo, path="/stream")

    async def ask(method: str, path: str) -> tuple[int, dict[str, bytes], Any]:
        server = FakeASGIServer()
        scope = {"type": "http", "method": method, "path": path, "headers": []}
        with trio.fail_after(5):
            await app(scope, server.receive, server.send)
        start, body = server.sent
        return start["status"], dict(start["headers"]), orjson.loads(body["body"])

    status, headers, body = await ask("GET", "/stream")
    assert status == 426 and headers[b"upgrade"] == b"websocket" and "upgrade" in body["error"]
    status, headers, _ = await ask("POST", "/stream")
    assert status == 405 and headers[b"allow"] == b"GET"
    status, headers, body = await ask("GET", "/elsewhere")
    assert (status, body) == (404, {"error": "not found"})
    assert headers[b"content-type"] == b"application/json"


async def test_lifespan_startup_and_shutdown_drain_the_server() -> None:
    app = StreamASGIApp(echo)
    server = FakeASGIServer()
    await server.push({"type": "lifespan.startup"})
    await server.push({"type": "lifespan.shutdown"})
    with trio.fail_after(5):
        await app({"type": "lifespan"}, server.receive, server.send)
    assert [e["type"] for e in server.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert app.server.draining


async def test_a_server_takes_no_options_and_unknown_scopes_are_errors() -> None:
    with pytest.raises(TypeError, match="max_calls"):
        StreamASGIApp(StreamServer(echo), max_calls=3)
    app = StreamASGIApp(echo)
    server = FakeASGIServer()
    with pytest.raises(ValueError, match="telepathy"):
        await app({"type": "telepathy"}, server.receive, server.send)
