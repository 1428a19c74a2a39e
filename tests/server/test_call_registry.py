"""``StreamServer.calls``: live calls by call id and stream id, gone the moment they end,
whatever ended them (issue #14, item 1)."""

from __future__ import annotations

import pytest
import trio

from trio_plivo.call import Call, LiveCall
from trio_plivo.server import StreamServer
from trio_plivo.testing import CallerAudio, FakePlivo, FakeProvider
from trio_plivo.transport import memory_transport_pair


async def call_through(server: StreamServer, fake: FakeProvider) -> None:
    app, peer = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.handle_transport, app)
        await fake.run_on(peer)


async def test_a_live_call_is_found_by_either_id_and_counted(autojump_clock) -> None:
    seen: list[tuple[LiveCall | None, LiveCall | None, dict[str, int]]] = []
    server = StreamServer(lambda call: None)  # replaced below

    async def looks_itself_up(call: Call) -> None:
        assert call.call_id and call.stream_id
        seen.append(
            (
                server.calls.get(call.call_id),
                server.calls.get(call.stream_id),
                dict(server.calls.counts_by_provider()),
            )
        )
        async for _ in call:
            pass

    server = StreamServer(looks_itself_up)
    await call_through(server, FakePlivo(duration=1))
    (by_call, by_stream, counts) = seen[0]
    assert by_call is not None and by_call is by_stream
    assert by_call.started_at > 1_600_000_000  # wall clock, for "started_at" in ISO 8601
    assert counts == {"plivo": 1}
    assert len(server.calls) == 0


async def _hang_up(call: Call) -> None:
    await call.hangup()


async def _crash(call: Call) -> None:
    raise RuntimeError("handler bug")


async def _listen(call: Call) -> None:
    async for _ in call:
        pass


@pytest.mark.parametrize(
    ("handler", "fake"),
    [
        (_listen, FakePlivo(duration=1, end="close")),  # the caller hung up
        (_listen, FakePlivo(duration=1, end="stop")),  # the provider stopped the stream
        (_crash, FakePlivo(duration=1)),  # the handler failed (1011)
        (_hang_up, FakePlivo(duration=1)),  # the app hung up
    ],
    ids=["caller-hang-up", "stop", "handler-error", "app-hang-up"],
)
async def test_the_registry_is_empty_after_every_way_a_call_ends(
    autojump_clock, handler, fake
) -> None:
    events: list[str] = []
    server = StreamServer(handler)
    server.calls.observe(lambda event, live: events.append(event))
    await call_through(server, fake)
    assert events == ["started", "ended"]
    assert len(server.calls) == 0 and list(server.calls) == []


async def test_a_call_is_unlisted_when_it_ends_not_when_its_handler_returns(
    autojump_clock,
) -> None:
    listed_after_end: list[bool] = []
    server = StreamServer(lambda call: None)

    async def lingers(call: Call) -> None:
        await call.wait_ended()
        await trio.sleep(0.1)  # still tidying up, inside the handler's grace
        listed_after_end.append(server.calls.get(call.call_id or "") is not None)

    server = StreamServer(lingers, handler_grace=1.0)
    await call_through(server, FakePlivo(duration=1))
    assert listed_after_end == [False]


async def test_shutdown_ends_and_unlists_every_call(autojump_clock) -> None:
    async def forever(call: Call) -> None:
        await trio.sleep_forever()

    server = StreamServer(forever, shutdown_grace=1.0)
    app, peer = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, "127.0.0.1", 0)
        nursery.start_soon(server.handle_transport, app)
        nursery.start_soon(FakePlivo(audio=CallerAudio.silence(60)).run_on, peer)
        await trio.sleep(1)
        assert len(server.calls) == 1
        server.shutdown()
    assert len(server.calls) == 0


async def test_close_all_closes_every_call_with_the_code(autojump_clock) -> None:
    server = StreamServer(_listen)
    fakes = [FakePlivo(audio=CallerAudio.silence(30)) for _ in range(3)]
    codes: list[int | None] = []

    async def run_one(fake: FakeProvider) -> None:
        app, peer = memory_transport_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.handle_transport, app)
            report = await fake.run_on(peer)
            codes.append(report.close.code)

    async with trio.open_nursery() as nursery:
        for fake in fakes:
            nursery.start_soon(run_one, fake)
        await trio.sleep(1)
        assert len(server.calls) == 3
        assert await server.calls.close_all(4000, "maintenance") == 3
    assert codes == [4000, 4000, 4000]
    assert len(server.calls) == 0


async def test_a_hook_reaches_the_registry_of_its_call(autojump_clock) -> None:
    from trio_plivo.call import CallHooks, registry_of

    hooks = CallHooks()
    found: list[bool] = []

    @hooks.on_start
    def look(call: Call, start) -> None:
        registry = registry_of(call)
        found.append(registry is not None and registry.get(call.call_id or "") is not None)

    server = StreamServer(hooks)
    await call_through(server, FakePlivo(duration=1))
    assert found == [True]
