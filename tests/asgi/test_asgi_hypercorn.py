"""The stream endpoint inside a Starlette app served by Hypercorn's Trio worker, over a real
loopback socket: as a route handler and as a mounted ASGI app, with the built-in echo app
(echo, a mark acknowledged, a clear), a signature refusal answered before the upgrade, and
the web app's own routes still served.

Real sockets need the real clock, so each call lasts about a second; waits have deadlines."""

from __future__ import annotations

import httpx
import pytest
import trio
from asgi_helpers import eventually, running_hypercorn, starlette_app

from trio_plivo.apps import echo
from trio_plivo.protocol import PROVIDERS
from trio_plivo.server import StreamServer
from trio_plivo.signatures import SignatureValidator, signature_headers
from trio_plivo.testing import CallerAudio, FakePlivo
from trio_plivo.ws import WebSocketHandshakeError, connect_websocket

pytestmark = pytest.mark.slow

TOKEN = "hypercorn-test-auth-token"


@pytest.mark.parametrize("path", ["/route/stream", "/mounted/stream"])
async def test_echo_mark_and_clear_through_hypercorn_and_starlette(path: str) -> None:
    server = StreamServer(echo, codec_factory=PROVIDERS["auto"])
    fake = FakePlivo(audio=CallerAudio.demo(), duration=1.2, dtmf=[("5", 0.3), ("*", 0.7)])
    with trio.fail_after(30):
        async with running_hypercorn(starlette_app(server)) as port:
            report = await fake.run_url(f"ws://127.0.0.1:{port}{path}")
            # The call ended from the provider's side; its task finishes just after.
            await eventually(lambda: server.active_calls == 0, "the call's end")
    assert report.violations == ()
    assert report.counts.media_sent > 0
    # Every frame is echoed, except what the clear drops: a frame read together with the
    # `*` is queued and then cleared (the clear's job, not a loss).
    sent, echoed = report.counts.media_sent, report.counts.play_audio_received
    assert sent > 0 and sent - 2 <= echoed <= sent
    assert [(c.name, c.outcome) for c in report.checkpoints] == [("dtmf-5", "played")]
    assert len(report.clears) == 1
    assert (report.close.by, report.close.code) == ("plivo", 1000)
    assert server.total_calls == 1


async def test_a_signed_endpoint_refuses_before_the_upgrade_and_the_app_keeps_its_routes() -> None:
    calls: list[str | None] = []

    async def handler(call) -> None:
        calls.append(call.call_id)

    server = StreamServer(handler, signature_validator=SignatureValidator(TOKEN))
    with trio.fail_after(30):
        async with running_hypercorn(starlette_app(server)) as port:
            url = f"ws://127.0.0.1:{port}/mounted/stream"
            with pytest.raises(WebSocketHandshakeError) as unsigned:
                await connect_websocket(url)
            assert calls == [] and server.total_calls == 0
            # Signed for the URL the upgrade addresses (its Host header and path).
            signed = signature_headers(url, TOKEN, method="GET")
            report = await FakePlivo(duration=0.2, call_id="signed").run_url(url, headers=signed)
            await eventually(lambda: server.active_calls == 0, "the call's end")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                health = await client.get("/health")
                plain = await client.get("/mounted/stream")
    assert unsigned.value.status_code == 403
    assert b"invalid signature" in (unsigned.value.body or b"")
    assert calls == ["signed"] and report.violations == ()
    assert server.refusals[403] == 1
    assert health.json() == {"ok": True, "active_calls": 0}
    assert plain.status_code == 426 and "upgrade" in plain.json()["error"]
