"""The call: pacing, marks, clear, inbound backpressure, teardown."""

from __future__ import annotations

import json
import logging

import pytest
import trio
import trio.testing
from conftest import CALL_ID, STREAM_ID, audio_payloads

from trio_plivo import L16_16K, MULAW_8K, CallClosed
from trio_plivo.call import CallConfig, MarkStatus, open_call, serve_call
from trio_plivo.protocol import Dtmf, Media, Start


def ulaw(ms: int, value: int = 0x10) -> bytes:
    """µ-law audio whose bytes count up, so reordering or duplication is visible."""
    return bytes((value + i) % 256 for i in range(8 * ms))


async def test_metadata_is_available_on_entry(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(5):
        await peer.start()
        async with open_call(app) as call:
            assert call.call_id == CALL_ID
            assert call.stream_id == STREAM_ID == call.get_stream_id()
            assert call.account_id == "MAXXXXXXXXXXXXXXXXXX"
            assert call.tracks == ("inbound",)
            assert call.media_format == MULAW_8K
            assert call.extra_headers == {"tenant": "acme", "lead": "42"}
            assert call.get_header("lead") == "42"
            assert isinstance(await call.next_event(), Start)


async def test_playback_is_paced_with_a_bounded_lead(pair, autojump_clock) -> None:
    app, peer = pair
    audio = ulaw(1000)
    with trio.fail_after(10):
        await peer.start()
        async with (
            open_call(app, config=CallConfig(lead_ms=100)) as call,
            trio.open_nursery() as nursery,
        ):
            await nursery.start(peer.collect)
            t0 = trio.current_time()
            await call.play(audio)
            result = await call.mark("end")
            # let everything go out
            await trio.sleep(1.5)
            assert result.done is False  # no ack yet: the peer never acknowledged
            nursery.cancel_scope.cancel()
    frames = [r for r in peer.received if r.message["event"] == "playAudio"]
    assert len(frames) == 50
    assert b"".join(audio_payloads(frames)) == audio  # nothing lost, doubled or reordered
    for index, frame in enumerate(frames):
        elapsed = frame.at - t0
        # frame i may leave once its playout is within the 100 ms lead ...
        assert elapsed >= index * 0.020 - 0.100 - 1e-6
        # ... and leaves before the provider's buffer falls below half the lead
        assert elapsed <= max(0.0, index * 0.020 - 0.050) + 1e-6
    assert [f.at - t0 for f in frames[:5]] == pytest.approx([0.0] * 5, abs=1e-6)
    # Topped up, not trickled: after the first fill, frames leave in twos (one wake-up and
    # one write per 40 ms), not one per 20 ms.
    departures = sorted({round(f.at - t0, 6) for f in frames[5:]})
    assert len(departures) == pytest.approx(len(frames[5:]) / 2, abs=1)
    # the mark goes out after the last frame
    names = [r.message["event"] for r in peer.received]
    assert names.index("checkpoint") == len(names) - 1
    assert peer.received[-1].message == {
        "event": "checkpoint",
        "streamId": STREAM_ID,
        "name": "end",
    }


async def test_mark_resolves_only_after_its_ack(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            await call.play(ulaw(500))
            mark = await call.mark()
            got = await peer.receive_until("checkpoint")
            assert len(audio_payloads(got)) == 25
            sent_at = trio.current_time()
            await trio.testing.wait_all_tasks_blocked()
            assert not mark.done
            await trio.sleep(0.5)
            assert not mark.done
            await peer.played(mark.name)
            result = await mark.wait()
    assert result.status is MarkStatus.PLAYED
    assert result.played
    assert not result.interrupted
    assert result.queued_ms == pytest.approx(500)
    assert result.played_ms == pytest.approx(500)
    assert result.round_trip_s == pytest.approx(trio.current_time() - sent_at, abs=0.01)


async def test_ack_for_a_later_mark_resolves_earlier_ones(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            first = await call.mark("a")
            second = await call.mark("b")
            await peer.receive_until("checkpoint")
            await peer.receive_until("checkpoint")
            await peer.played("b")
            assert (await first.wait()).played
            assert (await second.wait()).played


async def test_clear_interrupts_pending_marks_and_ignores_late_acks(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call, trio.open_nursery() as nursery:
            await nursery.start(peer.collect)
            await call.play(ulaw(1000))
            first = await call.mark("first")
            await call.play(ulaw(1000))
            second = await call.mark("second")
            await trio.sleep(0.31)  # ~310 ms played, 50-100 ms more in the provider's buffer
            await call.clear()
            r1, r2 = await first.wait(), await second.wait()
            assert r1.status is MarkStatus.CLEARED
            assert r2.status is MarkStatus.CLEARED
            assert r1.played_ms == pytest.approx(310, abs=1)
            assert r1.queued_ms == pytest.approx(1000)
            assert r2.played_ms == 0
            sent_before_clear = len(audio_payloads(peer.received))
            await peer.played("first")  # a late ack: ignored
            await trio.sleep(1.0)
            assert call.statistics().stale_acks == 1
            assert call.statistics().pending_marks == 0
            nursery.cancel_scope.cancel()
    events = [r.message["event"] for r in peer.received]
    assert "clearAudio" in events
    # nothing queued before the clear went out after it; no checkpoint was sent at all
    assert events.index("clearAudio") == len(events) - 1
    assert "checkpoint" not in events
    # Topped up at 290 ms to 90 ms ahead (the lead is refilled once half of it played):
    # 380 ms of audio, in 20 ms frames.
    assert sent_before_clear == 19


async def test_audio_after_clear_plays_and_marks_work_again(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            await call.play(ulaw(400))
            # One lead's worth goes out at once; the clear then cuts audio on the wire.
            before = [await peer.receive() for _ in range(5)]
            await call.clear()
            await call.play(ulaw(100, value=0x80))
            mark = await call.mark()
            got = before + await peer.receive_until("checkpoint")
            payloads = audio_payloads(got)
            # the frames sent before the clear (one lead's worth), then the new audio
            assert got[5]["event"] == "clearAudio"
            assert payloads[5:] == [ulaw(100, value=0x80)[i : i + 160] for i in range(0, 800, 160)]
            await peer.played(mark.name)
            result = await mark.wait()
            assert result.played
            assert result.queued_ms == pytest.approx(100)


async def test_partial_frames_are_joined_and_the_last_is_padded(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            await call.play(ulaw(15))  # 120 bytes: not a whole frame
            await call.play(ulaw(10))  # 80 more: one frame + 40 bytes
            await call.mark("m")
            payloads = audio_payloads(await peer.receive_until("checkpoint"))
    assert payloads[0] == ulaw(15) + ulaw(10)[:40]
    assert payloads[1] == ulaw(10)[40:] + b"\xff" * 120  # µ-law silence
    assert len(payloads) == 2


async def test_lone_partial_frame_goes_out_before_the_provider_runs_dry(
    pair, autojump_clock
) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            await call.play(ulaw(30))
            got = [await peer.receive(), await peer.receive()]
            assert [len(p) for p in audio_payloads(got)] == [160, 160]
            assert audio_payloads(got)[1].endswith(b"\xff" * 80)


async def test_send_dtmf_jumps_the_audio_queue(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            await call.play(ulaw(1000))
            for _ in range(5):
                await peer.receive()
            await call.send_dtmf("12#")
            message = await peer.receive()
            assert message == {"event": "sendDTMF", "dtmf": "12#"}


async def test_slow_application_loses_oldest_media_not_control_events(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app, config=CallConfig(inbound_buffer_ms=200)) as call:
            for i in range(30):
                await peer.media(bytes([i]) * 160, chunk=i + 1)
                if i == 3:
                    await peer.dtmf("5")
            await trio.testing.wait_all_tasks_blocked()
            assert call.statistics().frames_received == 30
            assert call.statistics().frames_dropped == 20
            received = [await call.next_event() for _ in range(12)]
    assert isinstance(received[0], Start)
    assert received[1] == Dtmf(digit="5", track="inbound", stream_id=STREAM_ID, sequence_number=6)
    media = received[2:]
    assert all(isinstance(m, Media) for m in media)
    assert [m.payload[0] for m in media] == list(range(20, 30))  # the newest ten survived


async def test_malformed_messages_are_counted_and_skipped(pair, caplog, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            await peer.send("{not json")
            await peer.transport.send_messages([b"\x00binary"])
            await peer.send({"event": "media", "streamId": "another", "media": {"payload": ""}})
            await peer.media(b"\x01" * 160)
            assert isinstance(await call.next_event(), Start)
            assert isinstance(await call.next_event(), Media)
            assert call.statistics().malformed_messages == 3
    assert "malformed" in caplog.text


async def test_remote_close_ends_everything(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            await call.play(ulaw(2000))
            mark = await call.mark()
            await peer.receive()
            await peer.transport.aclose(1000)
            events = [event async for event in call]
            assert isinstance(events[0], Start)
            assert (await mark.wait()).status is MarkStatus.CALL_ENDED
            with pytest.raises(CallClosed):
                await call.play(ulaw(20))
            with pytest.raises(CallClosed):
                await call.mark()
            with pytest.raises(CallClosed):
                await call.next_event()
            assert call.ended
            assert call._tasks is not None
            await trio.testing.wait_all_tasks_blocked()
            assert call._tasks.child_tasks == frozenset()
        assert call.close_code == 1000


async def test_stop_message_ends_the_call(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            await peer.send({"event": "stop", "streamId": STREAM_ID})
            await call.wait_ended()
            assert call.close_reason == "stream stopped by the provider"


async def test_outer_cancellation_closes_with_going_away(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        with trio.move_on_after(1):
            async with open_call(app) as call:
                mark = await call.mark()
                await trio.sleep_forever()
        assert (await mark.wait()).status is MarkStatus.CALL_ENDED
        with pytest.raises(CallClosed) as info:
            await drain(peer.transport)
        assert info.value.code == 1001


async def test_body_exception_propagates_unwrapped_and_closes_1011(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        with pytest.raises(ZeroDivisionError):
            async with open_call(app):
                1 / 0  # noqa: B018
        with pytest.raises(CallClosed) as info:
            await peer.transport.receive_message()
        assert info.value.code == 1011


async def test_no_start_times_out_with_1008(pair, autojump_clock) -> None:
    app, _peer = pair
    with trio.fail_after(30):
        with pytest.raises(CallClosed) as info:
            async with open_call(app, config=CallConfig(start_timeout=2)):
                pytest.fail("entered without a start")
        assert info.value.code == 1008


async def test_l16_stream_frames_are_640_bytes(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start(L16_16K, headers=None)
        async with open_call(app) as call:
            assert call.extra_headers == {}
            await call.play(b"\x01\x00" * 16000)  # one second
            await call.mark()
            got = await peer.receive_until("checkpoint")
            assert {len(p) for p in audio_payloads(got)} == {640}
            assert got[0]["media"] == {
                **got[0]["media"],
                "contentType": "audio/x-l16",
                "sampleRate": 16000,
            }


async def test_play_rejects_partial_samples(pair, autojump_clock) -> None:
    from trio_plivo import LocalProtocolError

    app, peer = pair
    await peer.start(L16_16K)
    async with open_call(app) as call:
        with pytest.raises(LocalProtocolError):
            await call.play(b"\x00\x01\x02")
        with pytest.raises(LocalProtocolError):
            await call.mark("")
        await call.mark("dup")
        with pytest.raises(LocalProtocolError):
            await call.mark("dup")


async def drain(transport) -> None:
    while True:
        await transport.receive_message()


# --- serve_call ---------------------------------------------------------------------------


async def test_handler_exception_is_logged_and_closes_1011(pair, caplog, autojump_clock) -> None:
    app, peer = pair

    async def handler(call) -> None:
        raise RuntimeError("boom")

    with trio.fail_after(10):
        await peer.start()
        caplog.set_level(logging.INFO, logger="trio_plivo")
        call = await serve_call(app, handler)
        assert call is not None
        assert call.close_code == 1011
        with pytest.raises(CallClosed) as info:
            await peer.transport.receive_message()
        assert info.value.code == 1011
    assert "boom" in caplog.text
    assert CALL_ID in caplog.text


async def test_handler_is_cancelled_after_the_grace_period(pair, autojump_clock) -> None:
    app, peer = pair
    finished_at: list[float] = []

    async def handler(call) -> None:
        try:
            await trio.sleep_forever()
        finally:
            finished_at.append(trio.current_time())

    async def hang_up_at_1s() -> None:
        await trio.sleep(1)
        await peer.transport.aclose(1000)

    with trio.fail_after(10):
        await peer.start()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(hang_up_at_1s)
            start = trio.current_time()
            await serve_call(app, handler, handler_grace=0.5)
    assert finished_at == [pytest.approx(start + 1.5)]


async def test_handler_may_let_call_closed_escape(pair, autojump_clock) -> None:
    app, peer = pair

    async def handler(call) -> None:
        async for _ in call:
            pass
        await call.play(b"\xff" * 160)  # the call is over: CallClosed, a normal way out

    with trio.fail_after(10):
        await peer.start()
        await peer.transport.aclose(1000)
        call = await serve_call(app, handler)
        assert call is not None
        assert call.close_code == 1000


async def test_json_of_play_audio_uses_negotiated_format(pair, autojump_clock) -> None:
    app, peer = pair
    await peer.start()
    async with open_call(app) as call:
        await call.play(ulaw(20))
        message = await peer.receive()
    assert json.dumps(message["media"]["contentType"]) == '"audio/x-mulaw"'
    assert message["media"]["sampleRate"] == 8000
    assert "streamId" not in message


async def test_play_with_room_in_the_buffer_queues_without_yielding(pair, autojump_clock) -> None:
    # The echo hot path: one task switch less per frame (bench echo). Cancellation is still
    # honoured, and a full buffer still waits.
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            sender_ran = call.statistics().frames_sent
            await call.play(ulaw(20))
            assert call.statistics().frames_sent == sender_ran  # no other task ran
            with trio.CancelScope() as scope:
                scope.cancel()
                await call.play(ulaw(20))
            assert scope.cancelled_caught


async def test_audio_handed_to_a_waiting_sender_just_before_a_clear_never_plays(
    pair, autojump_clock
) -> None:
    # play() gives a piece straight to a sender waiting for audio, without a schedule point;
    # a clear right behind it must still drop that piece (it is in neither the queue nor the
    # channel), or it goes out after clearAudio: old audio after a barge-in.
    app, peer = pair
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call, trio.open_nursery() as nursery:
            await nursery.start(peer.collect)
            await trio.testing.wait_all_tasks_blocked()  # the sender waits for audio
            await call.play(ulaw(20, value=0x40))
            await call.clear()
            await call.play(ulaw(20, value=0x80))  # after the clear: this one plays
            await trio.sleep(0.5)
            nursery.cancel_scope.cancel()
    events = [r.message["event"] for r in peer.received]
    assert events == ["clearAudio", "playAudio"]
    assert audio_payloads(peer.received) == [ulaw(20, value=0x80)]
