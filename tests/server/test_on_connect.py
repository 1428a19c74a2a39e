"""An awaited on-connect hook (issue #15, item 11): it sees the upgrade request before the
call's ``start`` is read, may refuse the call, and its setup time loses no caller audio."""

from __future__ import annotations

import pytest
import trio
from test_server import drain, media_message, running, start_message, url

from trio_plivo import CallRefused, ConnectionClosed
from trio_plivo.call import Call, CallConfig, CallHooks
from trio_plivo.server import StreamServer
from trio_plivo.ws import HandshakeRequest, connect_websocket


async def test_two_seconds_of_setup_lose_no_frame() -> None:
    seen: list[tuple[str, str | None]] = []
    frames: list[int] = []

    async def open_recogniser(request: HandshakeRequest) -> None:
        seen.append((request.path, request.headers.get("X-Caller")))
        await trio.sleep(2)  # e.g. a speech recogniser's TLS handshake and model load

    async def count(call: Call) -> None:
        received = 0
        async for event in call:
            received += type(event).__name__ == "Media"
            if received == 100:
                break
        frames.append(received)
        frames.append(call.statistics().frames_dropped)

    # The frames wait in the socket during the setup, then reach the inbound buffer at once:
    # sized above the setup time, it holds them all.
    config = CallConfig(inbound_buffer_ms=3000)
    server = StreamServer(count, on_connect=open_recogniser, config=config)
    with trio.fail_after(20):
        async with running(server):
            ws = await connect_websocket(url(server) + "?tenant=7", headers={"X-Caller": "42"})
            # Everything at once, while the hook is still busy: start and 2 s of audio.
            await ws.send_messages(
                [start_message()] + [media_message(b"\xff" * 160, n) for n in range(1, 101)]
            )
            with pytest.raises(ConnectionClosed):
                await drain(ws)
            await ws.aclose()
    assert seen == [("/stream", "42")]
    assert frames == [100, 0]  # every frame reached the handler, none dropped


async def test_a_hooks_handler_can_refuse_the_call() -> None:
    hooks = CallHooks()
    started: list[str] = []

    @hooks.on_connect
    def only_known_tenants(request: HandshakeRequest) -> None:
        if "tenant=7" not in request.query:
            raise CallRefused("unknown tenant", code=4403)

    @hooks.on_start
    def start(call: Call, event: object) -> None:
        started.append(call.call_id or "")

    server = StreamServer(hooks)
    with trio.fail_after(20):
        async with running(server):
            refused = await connect_websocket(url(server))
            # (Nothing sent: the hook closes it right after the upgrade.)
            with pytest.raises(ConnectionClosed) as closed:
                await refused.receive_message()
            await refused.aclose()
            accepted = await connect_websocket(url(server) + "?tenant=7")
            await accepted.send_message(start_message("tenant-call"))
            await accepted.aclose()
    assert (closed.value.code, closed.value.reason) == (4403, "unknown tenant")
    assert server.total_calls <= 1  # the refused call never ran
    assert started in (["tenant-call"], [])
