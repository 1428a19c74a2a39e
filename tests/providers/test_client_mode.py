"""Client mode: the app dials the stream server, reconnecting with backoff."""

from __future__ import annotations

import json
import logging
import random
from functools import partial
from itertools import pairwise

import pytest
import test_twilio_codec as twilio
import trio
import trio.lowlevel
from provider_peers import Peer

from trio_plivo import ConfigurationError
from trio_plivo.call import Call
from trio_plivo.client import backoff_delays, connect
from trio_plivo.transport import MemoryTransport, memory_transport_pair
from trio_plivo.ws import HTTPResponse, WebSocketHandshakeError, accept_websocket


class FakeGateway:
    """A stream server reached through a connector: refuses ``failures`` times, then for
    each connection plays a Twilio stream (start, one media frame, stop)."""

    def __init__(
        self, nursery: trio.Nursery, failures: int = 0, *, start: bool = True, streams: int = 1000
    ) -> None:
        self.nursery = nursery
        self.max_streams = streams
        self.failures = failures
        self.start = start
        self.attempts: list[float] = []
        self.headers: list[object] = []
        self.streams = 0

    async def connect(self, url: str, headers: object) -> MemoryTransport:
        self.attempts.append(trio.current_time())
        self.headers.append(headers)
        await trio.lowlevel.checkpoint()
        if len(self.attempts) <= self.failures:
            raise OSError(f"connection refused (attempt {len(self.attempts)})")
        if self.streams >= self.max_streams:
            raise OSError("no more streams")
        app, provider = memory_transport_pair()
        self.streams += 1
        self.nursery.start_soon(self.serve, provider, self.streams)
        return app

    async def serve(self, transport: MemoryTransport, number: int) -> None:
        peer = Peer(transport)
        if self.start:
            start = json.loads(json.dumps(twilio.START))
            start["start"]["callSid"] = f"CA-{number}"
            await peer.send(start)
            await peer.media(b"\xff" * 160, chunk=1)
            await peer.send(peer._envelope("stop", stop={}))
        await transport.aclose()


async def test_reconnects_with_backoff_and_runs_the_handler_per_stream(
    autojump_clock, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="trio_plivo.client")
    seen: list[str | None] = []
    three = trio.Event()

    async def handler(call: Call) -> None:
        seen.append(call.call_id)
        if len(seen) == 3:
            three.set()
        async for _ in call:
            pass

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery, failures=2, streams=3)
            t0 = trio.current_time()
            nursery.start_soon(
                partial(
                    connect,
                    "ws://gateway/stream",
                    handler,
                    backoff=(0.5, 10.0, 0.0),
                    connector=gateway.connect,
                    headers={"Authorization": "Bearer secret-token"},
                )
            )
            await three.wait()
            nursery.cancel_scope.cancel()
    assert seen[:3] == ["CA-1", "CA-2", "CA-3"]  # auto-detected Twilio, one call per stream
    delays = [round(b - a, 3) for a, b in pairwise([t0, *gateway.attempts])]
    assert delays[:3] == [0.0, 0.5, 1.0]  # refused twice: 0.5 s, then 1 s
    assert all(d < 0.01 for d in delays[3:5])  # after a good stream: at once
    attempts_logged = [r for r in caplog.records if "attempt" in r.getMessage()]
    assert len(attempts_logged) >= len(gateway.attempts) - 1
    assert not any("secret-token" in r.getMessage() for r in caplog.records)
    assert gateway.headers[0] == {"Authorization": "Bearer secret-token"}


async def test_gives_up_after_max_attempts_with_the_last_error(autojump_clock) -> None:
    async def handler(call: Call) -> None:
        raise AssertionError("never called")

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery, failures=100)
            with pytest.raises(OSError, match="attempt 4"):
                await connect(
                    "ws://gateway/stream",
                    handler,
                    backoff=(1.0, 3.0, 0.0),
                    max_attempts=4,
                    connector=gateway.connect,
                )
    gaps = [round(b - a, 3) for a, b in pairwise(gateway.attempts)]
    assert gaps == [1.0, 2.0, 3.0]  # doubling, capped at 3 s


async def test_a_stream_that_closes_before_start_counts_as_a_failure(autojump_clock) -> None:
    async def handler(call: Call) -> None:
        raise AssertionError("never called")

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery, start=False)
            with pytest.raises(ConnectionRefusedError, match="closed before the stream started"):
                await connect(
                    "ws://gateway/stream",
                    handler,
                    backoff=(0.25, 1.0, 0.0),
                    max_attempts=3,
                    connector=gateway.connect,
                )
    assert len(gateway.attempts) == 3
    assert gateway.attempts[1] - gateway.attempts[0] == pytest.approx(0.25)


async def test_no_reconnect_serves_one_stream_and_returns(autojump_clock) -> None:
    seen: list[str | None] = []

    async def handler(call: Call) -> None:
        seen.append(call.call_id)

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery)
            await connect(
                "ws://g/s", handler, codec="twilio", reconnect=False, connector=gateway.connect
            )
    assert seen == ["CA-1"]
    assert len(gateway.attempts) == 1


async def test_no_reconnect_raises_the_connection_error(autojump_clock) -> None:
    async def handler(call: Call) -> None:
        raise AssertionError("never called")

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery, failures=1)
            with pytest.raises(OSError, match="refused"):
                await connect("ws://g/s", handler, reconnect=False, connector=gateway.connect)


async def test_cancellation_during_backoff_is_clean(autojump_clock) -> None:
    async def handler(call: Call) -> None:
        raise AssertionError("never called")

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery, failures=100)
            with trio.move_on_after(5) as scope:
                await connect(
                    "ws://g/s", handler, backoff=(1.0, 1.0, 0.0), connector=gateway.connect
                )
    assert scope.cancelled_caught
    assert len(gateway.attempts) == 5  # t = 0, 1, 2, 3, 4


async def test_task_status_reports_the_first_connection(autojump_clock) -> None:
    async def handler(call: Call) -> None:
        await trio.sleep_forever()

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            gateway = FakeGateway(nursery, failures=2)
            await nursery.start(
                partial(
                    connect, "ws://g/s", handler, backoff=(0.5, 1.0, 0.0), connector=gateway.connect
                )
            )
            assert len(gateway.attempts) == 3
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    "options",
    [
        {"backoff": (0.0, 1.0, 0.1)},
        {"backoff": (2.0, 1.0, 0.1)},
        {"backoff": (1.0, 2.0, 1.0)},
        {"max_attempts": 0},
        {"codec": "bandwidth"},
        {"codec": 42},
    ],
)
async def test_bad_settings(options: dict[str, object]) -> None:
    async def handler(call: Call) -> None:
        raise AssertionError("never called")

    with pytest.raises(ConfigurationError):
        await connect("ws://g/s", handler, connector=None, **options)  # type: ignore[arg-type]


def test_backoff_delays_grow_cap_and_jitter() -> None:
    plain = backoff_delays(0.5, 4.0, 0.0)
    assert [next(plain) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    jittered = backoff_delays(1.0, 8.0, 0.25, rng=random.Random(7))
    values = [next(jittered) for _ in range(5)]
    for value, base in zip(values, [1, 2, 4, 8, 8], strict=True):
        assert base * 0.75 <= value <= base * 1.25
    assert len(set(values)) == 5  # jitter actually varies the delays


async def test_loopback_gateway_refuses_twice_then_streams() -> None:
    """The real WebSocket client against a real server on 127.0.0.1 (real clock)."""
    refusals = 2
    seen: list[str | None] = []
    served = trio.Event()

    def route(request: object) -> HTTPResponse | None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            return HTTPResponse(503, b"busy\n")
        return None

    async def serve_one(stream: trio.SocketStream) -> None:
        ws = await accept_websocket(stream, route=route)
        if ws is None:
            await stream.aclose()
            return
        peer = Peer(ws)  # type: ignore[arg-type]
        await peer.start()
        await peer.send(peer._envelope("stop", stop={}))
        with trio.move_on_after(5):
            await ws.aclose()

    async def handler(call: Call) -> None:
        seen.append(call.call_id)
        served.set()

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, serve_one, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            with pytest.raises(WebSocketHandshakeError, match="503"):
                await connect(f"ws://127.0.0.1:{port}/stream", handler, reconnect=False)
            async with trio.open_nursery() as client:
                await client.start(
                    partial(
                        connect, f"ws://127.0.0.1:{port}/stream", handler, backoff=(0.01, 0.02, 0.0)
                    )
                )
                await served.wait()
                client.cancel_scope.cancel()
            nursery.cancel_scope.cancel()
    assert seen[0] == twilio.CALL
