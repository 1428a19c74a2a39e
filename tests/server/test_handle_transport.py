"""Calls run through ``StreamServer.handle_transport`` (an app that accepted the WebSocket
itself) get the same admission, counting and drain as the server's own (issue #16, item 10)."""

from __future__ import annotations

import pytest
import trio
from test_server import start_message

from trio_plivo import ConnectionClosed
from trio_plivo.call import Call
from trio_plivo.server import StreamServer
from trio_plivo.transport import memory_transport_pair


async def test_max_calls_holds_for_embedded_calls(autojump_clock) -> None:
    started: list[str | None] = []
    release = trio.Event()

    async def handler(call: Call) -> None:
        started.append(call.call_id)
        await release.wait()

    server = StreamServer(handler, max_calls=1)
    first_app, first_peer = memory_transport_pair()
    second_app, second_peer = memory_transport_pair()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await first_peer.send_messages([start_message("first")])
            nursery.start_soon(server.handle_transport, first_app)
            await trio.sleep(1)
            assert server.active_calls == 1
            await second_peer.send_messages([start_message("second")])
            await server.handle_transport(second_app)  # refused at once
            with pytest.raises(ConnectionClosed) as refused:
                await second_peer.receive_message()
            assert (refused.value.code, refused.value.reason) == (1013, "too many calls")
            release.set()
    assert started == ["first"]
    assert server.total_calls == 1 and server.active_calls == 0


async def test_the_drain_ends_embedded_calls_and_refuses_new_ones(autojump_clock) -> None:
    cancelled = trio.Event()

    async def never_ends(call: Call) -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    server = StreamServer(never_ends, shutdown_grace=2.0)
    app, peer = memory_transport_pair()
    late_app, late_peer = memory_transport_pair()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, "127.0.0.1", 0)
            await peer.send_messages([start_message("embedded")])
            nursery.start_soon(server.handle_transport, app)
            await trio.sleep(1)
            assert server.active_calls == 1
            server.shutdown()
            await late_peer.send_messages([start_message("late")])
            await server.handle_transport(late_app)
            with pytest.raises(ConnectionClosed) as refused:
                await late_peer.receive_message()
            assert refused.value.code == 1013
            shutdown_at = trio.current_time()
            await cancelled.wait()
            # Cancelled when the grace period ran out, not before, not never.
            assert trio.current_time() - shutdown_at >= 2.0 - 1e-6
    assert server.active_calls == 0
