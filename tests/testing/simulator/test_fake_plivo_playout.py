"""Plivo's playout buffer as the app sees it: checkpoints, clears, what the caller heard."""

from __future__ import annotations

import numpy as np
import pytest
import trio
from fake_plivo_helpers import (
    Received,
    checkpoint,
    clear_audio,
    l16,
    play_audio,
    scripted_app,
    send,
)
from trio.testing import MockClock

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat
from trio_plivo.testing import FakePlivo
from trio_plivo.transport import MessageTransport

RATE = 8000


async def test_checkpoint_is_acked_when_the_audio_before_it_has_played(
    autojump_clock: MockClock,
) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await trio.sleep(0.1)
        await send(transport, play_audio(L16_8K, l16(0.5)), checkpoint(stream_id, "turn-1"))

    received = Received()
    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=1.0).run(scripted_app(received, script))
    played = received.named("playedStream")
    assert [m["name"] for _, m in played] == ["turn-1"]
    assert played[0][1]["streamId"] == report.stream_id
    assert received.times("playedStream") == pytest.approx([0.6])
    (record,) = report.checkpoints
    assert (record.received_at, record.acked_at) == pytest.approx((0.1, 0.6))
    assert record.round_trip == pytest.approx(0.5)
    assert record.outcome == "played"


async def test_checkpoint_with_nothing_queued_is_acked_at_once(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await trio.sleep(0.3)
        await send(transport, checkpoint(stream_id, "empty"))

    received = Received()
    with trio.fail_after(5):
        report = await FakePlivo(duration=1.0).run(scripted_app(received, script))
    assert received.times("playedStream") == pytest.approx([0.3])
    assert report.checkpoints[0].round_trip == pytest.approx(0.0)


async def test_checkpoints_are_acked_in_order_as_their_audio_plays(
    autojump_clock: MockClock,
) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await send(
            transport,
            play_audio(L16_8K, l16(0.2)),
            checkpoint(stream_id, "a"),
            checkpoint(stream_id, "b"),
            play_audio(L16_8K, l16(0.3)),
            checkpoint(stream_id, "c"),
        )

    received = Received()
    with trio.fail_after(5):
        await FakePlivo(format=L16_8K, duration=1.0).run(scripted_app(received, script))
    played = received.named("playedStream")
    assert [m["name"] for _, m in played] == ["a", "b", "c"]
    assert received.times("playedStream") == pytest.approx([0.2, 0.2, 0.5])


async def test_clear_discards_audio_and_never_acks_the_checkpoint_behind_it(
    autojump_clock: MockClock,
) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await send(transport, play_audio(L16_8K, l16(1.0, 500)), checkpoint(stream_id, "doomed"))
        await trio.sleep(0.3)
        await send(transport, clear_audio(stream_id))
        await trio.sleep(0.2)
        await send(transport, play_audio(L16_8K, l16(0.1, -700)), checkpoint(stream_id, "next"))

    received = Received()
    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=2.0).run(scripted_app(received, script))
    assert [m["event"] for _, m in received.messages if m["event"] != "media"] == [
        "start",
        "clearedAudio",
        "playedStream",
    ]
    assert received.times("clearedAudio") == pytest.approx([0.3])
    assert [m["name"] for _, m in received.named("playedStream")] == ["next"]
    assert received.times("playedStream") == pytest.approx([0.6])
    doomed, following = report.checkpoints
    assert (doomed.name, doomed.outcome, doomed.acked_at) == ("doomed", "cleared", None)
    assert following.outcome == "played"
    assert report.unacked_checkpoints == (doomed,)
    (cleared,) = report.clears
    assert cleared.at == pytest.approx(0.3)
    assert cleared.discarded == pytest.approx(0.7)
    assert cleared.heard_after == 0.0
    assert cleared.dropped_checkpoints == ("doomed",)
    heard = report.heard_samples()
    assert np.all(heard[: int(0.3 * RATE)] == 500)
    assert np.all(heard[int(0.3 * RATE) : int(0.5 * RATE)] == 0)  # cleared audio never heard
    assert np.all(heard[int(0.5 * RATE) : int(0.6 * RATE)] == -700)
    assert np.all(heard[int(0.6 * RATE) :] == 0)
    assert report.gaps == ()  # silence the app asked for is not a glitch


async def test_clear_latency_lets_a_little_audio_through(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await send(transport, play_audio(L16_8K, l16(1.0)))
        await trio.sleep(0.3)
        await send(transport, clear_audio(stream_id))

    fake = FakePlivo(format=L16_8K, duration=2.0, clear_latency=0.08, barge_in_at=[0.25])
    with trio.fail_after(5):
        report = await fake.run(scripted_app(Received(), script))
    (cleared,) = report.clears
    assert cleared.heard_after == pytest.approx(0.08)
    assert cleared.discarded == pytest.approx(0.62)
    heard = report.heard_samples()
    assert np.count_nonzero(heard) == round(0.38 * RATE)
    (barge_in,) = report.barge_ins
    assert barge_in.heard_after == pytest.approx(0.13)
    assert barge_in.silent_at == pytest.approx(0.38)
    assert barge_in.cleared


async def test_barge_in_when_the_bot_was_quiet_or_ran_out(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await send(transport, play_audio(L16_8K, l16(0.4)))

    fake = FakePlivo(format=L16_8K, duration=1.0, barge_in_at=[0.1, 0.7])
    with trio.fail_after(5):
        report = await fake.run(scripted_app(Received(), script))
    talking, quiet = report.barge_ins
    assert talking.heard_after == pytest.approx(0.3)
    assert not talking.cleared
    assert quiet.heard_after == 0.0
    assert quiet.silent_at == pytest.approx(0.7)


@pytest.mark.parametrize("fmt", [L16_8K, L16_16K])
async def test_a_hole_in_the_audio_is_one_gap(fmt: AudioFormat, autojump_clock: MockClock) -> None:
    rate = fmt.sample_rate

    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        # 20 ms frames paced just in time, with the frames from 0.4 s to 0.5 s missing.
        for index in range(40):
            at = index * 0.02
            if 0.4 <= at < 0.5 - 1e-9:
                continue
            await trio.sleep_until(received.start_time + at)
            await send(transport, play_audio(fmt, l16(0.02, 300, rate)))

    with trio.fail_after(5):
        report = await FakePlivo(format=fmt, duration=1.0).run(scripted_app(Received(), script))
    (gap,) = report.gaps
    assert gap.at == pytest.approx(0.4)
    assert gap.duration == pytest.approx(0.1)
    assert report.gap_stats.max == pytest.approx(0.1)
    assert report.gap_stats.transitions == 34  # 35 frames played back to back or across the hole
    assert report.gap_stats.p50 == 0.0
    assert report.time_to_first_audio == pytest.approx(0.0)
    assert report.pauses == ()


async def test_long_silence_is_a_pause_not_a_gap(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await send(transport, play_audio(L16_8K, l16(0.2)))
        await trio.sleep(1.2)
        await send(transport, play_audio(L16_8K, l16(0.2)))

    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=2.0).run(scripted_app(Received(), script))
    assert report.gaps == ()
    (pause,) = report.pauses
    assert (pause.at, pause.duration) == pytest.approx((0.2, 1.0))


async def test_time_to_first_audio_and_heard_mulaw(autojump_clock: MockClock) -> None:
    tone = bytes([0x80]) * 800 + bytes([0x00]) * 800  # µ-law: +32124 then -32124

    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await trio.sleep(0.25)
        await send(transport, play_audio(MULAW_8K, tone))

    with trio.fail_after(5):
        report = await FakePlivo(duration=1.0).run(scripted_app(Received(), script))
    assert report.time_to_first_audio == pytest.approx(0.25)
    heard = report.heard_samples()
    assert len(heard) == RATE  # the whole call, silence included
    start = round(0.25 * RATE)
    assert np.all(heard[:start] == 0)
    assert np.all(heard[start : start + 800] == 32124)
    assert np.all(heard[start + 800 : start + 1600] == -32124)
    assert report.counts.audio_received_seconds == pytest.approx(0.2)
    assert report.counts.play_audio_received == 1


async def test_audio_still_queued_at_hangup_is_not_heard_and_checkpoint_stays_pending(
    autojump_clock: MockClock,
) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await send(transport, play_audio(L16_8K, l16(2.0)), checkpoint(stream_id, "late"))

    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=0.5).run(scripted_app(Received(), script))
    assert report.heard_seconds == pytest.approx(0.5)
    assert np.count_nonzero(report.heard_samples()) == round(0.5 * RATE)
    (late,) = report.checkpoints
    assert (late.outcome, late.acked_at) == ("pending", None)


async def test_send_dtmf_is_recorded(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await trio.sleep(0.2)
        await send(transport, '{"event": "sendDTMF", "dtmf": "12#"}')

    with trio.fail_after(5):
        report = await FakePlivo(duration=0.5).run(scripted_app(Received(), script))
    assert [d.digits for d in report.sent_dtmf] == ["12#"]
    assert report.sent_dtmf[0].at == pytest.approx(0.2)
    assert report.violations == ()
    (event,) = report.events_named("sendDTMF", "from_app")
    assert event.fields == {"dtmf": "12#"}


async def test_events_are_logged_both_ways_without_payloads(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await send(transport, play_audio(L16_8K, l16(0.1)), checkpoint(stream_id, "n"))

    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=0.2).run(scripted_app(Received(), script))
    (play,) = report.events_named("playAudio")
    assert play.direction == "from_app"
    assert play.fields["media"] == {
        "contentType": "audio/x-l16",
        "sampleRate": 8000,
        "payload_bytes": 1600,
    }
    media = report.events_named("media", "to_app")
    assert len(media) == 10
    assert media[0].fields["media"]["payload_bytes"] == 160 * 2  # type: ignore[index]
    assert [e.event for e in report.events if e.direction == "from_app"] == [
        "playAudio",
        "checkpoint",
    ]
    (played,) = report.events_named("playedStream")
    assert played.at == pytest.approx(0.1)
