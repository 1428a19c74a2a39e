"""Every injected fault is observable by the app, and deterministic for a seed."""

from __future__ import annotations

import itertools

import attrs
import pytest
import trio
from fake_plivo_helpers import Received, checkpoint, scripted_app, send
from trio.testing import MockClock

from trio_plivo.testing import CallReport, FakePlivo, Faults
from trio_plivo.testing._simulator._faults import MediaScheduler
from trio_plivo.transport import MessageTransport


def _chunks(received: Received) -> list[int]:
    return [m["media"]["chunk"] for _, m in received.named("media")]  # type: ignore[index]


async def _run(faults: Faults, fake: FakePlivo | None = None) -> tuple[Received, CallReport]:
    received = Received()
    fake = attrs.evolve(fake or FakePlivo(duration=1.0), faults=faults)
    with trio.fail_after(30):
        report = await fake.run(scripted_app(received))
    return received, report


async def test_jitter_delays_frames_but_keeps_order(autojump_clock: MockClock) -> None:
    received, _ = await _run(Faults(jitter=0.015, seed=3))
    times = received.times("media")
    ideal = [i * 0.02 for i in range(50)]
    delays = [t - i for t, i in zip(times, ideal, strict=True)]
    assert all(-1e-9 <= d <= 0.015 + 1e-9 for d in delays)
    assert len({round(d, 6) for d in delays}) > 10  # really random, not a constant offset
    assert times == sorted(times)
    assert _chunks(received) == list(range(1, 51))


async def test_dropped_frames_leave_holes_in_the_chunk_numbers(autojump_clock: MockClock) -> None:
    received, report = await _run(Faults(drop_rate=0.2, seed=1))
    chunks = _chunks(received)
    assert chunks == sorted(chunks)
    assert 25 <= len(chunks) < 50
    assert max(chunks) <= 50
    assert report.counts.media_sent == len(chunks)
    sequence = [m["sequenceNumber"] for _, m in received.messages]
    assert sequence == list(range(1, len(sequence) + 1))  # the socket itself loses nothing


async def test_duplicated_frames_arrive_twice(autojump_clock: MockClock) -> None:
    received, _ = await _run(Faults(duplicate_rate=0.2, seed=2))
    chunks = _chunks(received)
    doubled = [a for a, b in itertools.pairwise(chunks) if a == b]
    assert doubled
    assert sorted(set(chunks)) == list(range(1, 51))
    assert len(chunks) == 50 + len(doubled)


async def test_reordered_frames_arrive_swapped(autojump_clock: MockClock) -> None:
    received, _ = await _run(Faults(reorder_rate=0.2, seed=4))
    chunks = _chunks(received)
    assert sorted(chunks) == list(range(1, 51))
    swaps = [(a, b) for a, b in itertools.pairwise(chunks) if a > b]
    assert swaps
    assert all(a == b + 1 for a, b in swaps)  # neighbours swapped, nothing lost


def test_faults_are_deterministic_for_a_seed() -> None:
    def plan(seed: int) -> list[tuple[float, int]]:
        faults = Faults(jitter=0.01, drop_rate=0.1, duplicate_rate=0.1, reorder_rate=0.1, seed=seed)
        scheduler = MediaScheduler[int](faults)
        out = [item for i in range(200) for item in scheduler.schedule(i, i * 0.02)]
        return out + scheduler.flush()

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)


def test_a_frame_held_for_reordering_is_flushed_at_the_end() -> None:
    scheduler = MediaScheduler[str](Faults(reorder_rate=1.0))
    assert scheduler.schedule("a", 0.0) == []
    assert scheduler.schedule("b", 0.02) == [(0.0, "b"), (0.02, "a")]
    assert scheduler.schedule("c", 0.04) == []
    assert scheduler.flush() == [(0.04, "c")]


@pytest.mark.parametrize(
    ("field", "value"), [("jitter", -0.1), ("drop_rate", 1.5), ("reorder_rate", -0.1)]
)
def test_fault_settings_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        Faults(**{field: value})  # type: ignore[arg-type]


async def test_malformed_and_binary_frames_at_their_times(autojump_clock: MockClock) -> None:
    received, report = await _run(Faults(malformed_at=[0.3], binary_at=[0.5, 0.1]))
    binary = [t - received.start_time for t, m in received.raw if isinstance(m, bytes)]
    assert binary == pytest.approx([0.1, 0.5])
    not_json = [
        t - received.start_time
        for t, m in received.raw
        if isinstance(m, str) and not m.endswith("}")
    ]
    assert not_json == pytest.approx([0.3])
    # The bad frames carry no sequence number: the protocol's count runs on unbroken.
    sequence = [m["sequenceNumber"] for _, m in received.messages]
    assert sequence == list(range(1, 52))
    assert [e.at for e in report.events_named("<binary>")] == pytest.approx([0.1, 0.5])
    assert [e.at for e in report.events_named("<invalid>")] == pytest.approx([0.3])


async def test_abrupt_disconnect_closes_1006_without_stop(autojump_clock: MockClock) -> None:
    received, report = await _run(Faults(disconnect_at=0.4), FakePlivo(duration=2.0, end="stop"))
    assert received.close_code == 1006
    assert "stop" not in {m["event"] for _, m in received.messages}
    assert report.close.code == 1006
    assert report.close.by == "plivo"
    assert report.duration == pytest.approx(0.4)


async def test_slow_reader_delays_the_apps_messages(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await trio.sleep(0.2)
        await send(transport, checkpoint(stream_id, "stuck"))

    received = Received()
    fake = FakePlivo(duration=2.0, faults=Faults(slow_reader=[(0.1, 0.8)]))
    with trio.fail_after(5):
        report = await fake.run(scripted_app(received, script))
    # The checkpoint sat unread until the reader came back at 0.9 s.
    assert received.times("playedStream") == pytest.approx([0.9])
    assert report.checkpoints[0].received_at == pytest.approx(0.9)
