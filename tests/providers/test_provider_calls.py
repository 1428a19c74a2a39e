"""The Call API is the same for every provider: play, marks, clear, DTMF both ways, hang-up.

Each test runs a real :class:`Call` against a hand-driven peer speaking that provider's wire
protocol over a memory transport (see ``provider_peers.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
import trio
import trio.testing
from provider_peers import PEERS, Peer

from trio_plivo import CallClosed
from trio_plivo._format import L16_8K
from trio_plivo.audio import DtmfDetector, convert, decode_wire, dtmf_tones
from trio_plivo.call import CallConfig, MarkStatus, open_call
from trio_plivo.protocol import Dtmf, Start
from trio_plivo.protocol._detect import DetectingCodec
from trio_plivo.transport import memory_transport_pair

pytestmark = pytest.mark.parametrize("peer_class", PEERS, ids=[p.provider for p in PEERS])


def open_peer(peer_class: type[Peer]) -> tuple[object, Peer]:
    app, provider_end = memory_transport_pair(4096)
    return app, peer_class(provider_end)


def wire_audio(peer: Peer, ms: int) -> bytes:
    """Wire-format audio whose bytes count up, so loss or reordering is visible; whole
    samples, and (µ-law aside) no byte pair that could be mistaken for silence padding."""
    n = peer.fmt.bytes_for(ms)
    return bytes((7 + i * 3) % 251 + 1 for i in range(n))


async def drain(peer: Peer) -> list[str]:
    """What the app sent until it closed the connection."""
    kinds = []
    try:
        while True:
            kinds.append((await peer.receive()).kind)
    except CallClosed:
        return kinds


@pytest.mark.parametrize("detect", [False, True], ids=["named", "detected"])
async def test_play_mark_and_ack_gives_played(
    peer_class: type[Peer], detect: bool, autojump_clock
) -> None:
    app, peer = open_peer(peer_class)
    codec = DetectingCodec() if detect else peer.codec()
    audio = wire_audio(peer, 1000)
    with trio.fail_after(20):
        await peer.start()
        async with open_call(app, codec=codec) as call:
            assert isinstance(await call.next_event(), Start)
            # SignalWire is Twilio on the wire: detection calls it Twilio, same behaviour.
            same_wire = "twilio" if detect and peer.provider == "signalwire" else peer.provider
            assert call.provider == same_wire
            assert call.call_id == peer.call_id
            assert call.media_format == peer.fmt
            await call.play(audio)
            mark = await call.mark("end")
            received = await peer.receive_until_mark("end", len(audio))
            assert received == audio
            frames = [s.audio for s in peer.sent if s.kind == "audio"]
            frame_bytes = peer.fmt.bytes_for(peer.codec().frame_ms)
            assert {len(f) for f in frames} == {frame_bytes}
            await peer.play_out("end")
            result = await mark.wait()
    assert result.status is MarkStatus.PLAYED
    assert result.queued_ms == pytest.approx(1000)


async def test_clear_resolves_marks_as_cleared_and_ignores_echoes(
    peer_class: type[Peer], autojump_clock
) -> None:
    app, peer = open_peer(peer_class)
    with trio.fail_after(20):
        await peer.start()
        async with open_call(app, codec=peer.codec()) as call, trio.open_nursery() as nursery:
            await call.play(wire_audio(peer, 100))
            first = await call.mark("first")
            await call.play(wire_audio(peer, 100))
            second = await call.mark("second")
            await call.play(wire_audio(peer, 3000))

            async def collect() -> None:
                while True:
                    await peer.receive()

            nursery.start_soon(collect)
            await trio.sleep(0.5)
            await call.clear()
            assert (await first.wait()).status is MarkStatus.CLEARED
            assert (await second.wait()).status is MarkStatus.CLEARED
            await trio.testing.wait_all_tasks_blocked()
            assert [s.kind for s in peer.sent].count("clear") == 1
            # The app reuses a name at once; then Twilio's echoes of the cleared marks arrive.
            # Neither echo may resolve anything: the call ignores stale acks, and the
            # Twilio-shaped codecs swallow the echo whose name was reused.
            await call.play(wire_audio(peer, 100))
            again = await call.mark("first")
            await trio.testing.wait_all_tasks_blocked()
            if peer_class.provider not in ("vonage", "kookoo"):  # no echoes there
                echoed = [s.name for s in peer.sent if s.kind == "mark"]
                assert echoed[:2] == ["first", "second"]  # both reached the provider
                for name in echoed[:2]:
                    await peer.ack(name)
            await trio.sleep(1)
            assert not again.done
            if peer_class.provider != "kookoo":
                await peer.ack("first")
            else:
                await peer.play_out("first")
            assert (await again.wait()).status is MarkStatus.PLAYED
            nursery.cancel_scope.cancel()


async def test_dtmf_in_native_or_detected(peer_class: type[Peer], autojump_clock) -> None:
    app, peer = open_peer(peer_class)
    with trio.fail_after(20):
        await peer.start()
        async with open_call(app, codec=peer.codec()) as call:
            assert isinstance(await call.next_event(), Start)
            rate = peer.fmt.sample_rate
            if peer_class.native_dtmf:
                await peer.dtmf("7")
            else:
                tones = np.zeros(rate // 10, "<i2").tobytes() + dtmf_tones("7", rate)
                tones = convert(tones + np.zeros(rate // 5, "<i2").tobytes(), L16_8K, peer.fmt)
                frame = peer.fmt.bytes_for(peer.codec().frame_ms)
                for i in range(0, len(tones) - frame + 1, frame):
                    await peer.media(tones[i : i + frame], chunk=i // frame + 1)
            event = await call.next_event()
            while not isinstance(event, Dtmf):
                event = await call.next_event()
    assert event.digit == "7"


async def test_dtmf_out_as_in_band_tones(peer_class: type[Peer], autojump_clock) -> None:
    app, peer = open_peer(peer_class)
    with trio.fail_after(20):
        await peer.start()
        async with open_call(app, codec=peer.codec()) as call:
            assert not peer.codec().supports_dtmf_out
            await call.send_dtmf("5#")
            await call.mark("end")
            rate = peer.fmt.sample_rate
            tone_samples = len(dtmf_tones("5#", rate)) // 2
            wire = await peer.receive_until_mark("end", tone_samples * peer.fmt.bytes_per_sample)
    presses = DtmfDetector(rate).feed(decode_wire(wire, peer.fmt))
    assert [p.digit for p in presses] == ["5", "#"]


async def test_hangup(peer_class: type[Peer], autojump_clock) -> None:
    app, peer = open_peer(peer_class)
    hung_up: list[str] = []

    class FakeRest:
        async def hangup_call(self, call_uuid: str) -> bool:
            hung_up.append(call_uuid)
            return True

    with trio.fail_after(20):
        await peer.start()
        config = CallConfig(hangup_client=FakeRest())
        async with open_call(app, codec=peer.codec(), config=config) as call:
            await call.hangup()
            assert call.ended
            with pytest.raises(CallClosed):
                await call.play(wire_audio(peer, 20))
        kinds = await drain(peer)
    if peer.codec().supports_hangup:
        assert kinds == ["hangup"] and hung_up == []
    else:
        assert hung_up == [peer.call_id]


@pytest.mark.parametrize("detect", [False, True], ids=["named", "detected"])
async def test_the_inbound_buffer_holds_its_milliseconds_in_the_providers_frames(
    peer_class: type[Peer], detect: bool, autojump_clock
) -> None:
    # 400 ms of buffer: 20 Plivo-sized frames, but 4 of Exotel's 100 ms and 40 of KooKoo's
    # 10 ms. Counted in 20 ms frames whatever the provider, Exotel kept 2 s and KooKoo 200 ms.
    app, peer = open_peer(peer_class)
    codec = DetectingCodec() if detect else peer.codec()
    frame_ms = peer.codec().frame_ms
    keep = 400 // frame_ms
    with trio.fail_after(10):
        await peer.start()
        config = CallConfig(inbound_buffer_ms=400)
        async with open_call(app, codec=codec, config=config) as call:  # type: ignore[arg-type]
            sent = keep + 5
            for i in range(sent):
                await peer.media(wire_audio(peer, frame_ms), chunk=i + 1)
            await trio.testing.wait_all_tasks_blocked()
            stats = call.statistics()
            assert stats.frames_received == sent
            assert stats.frames_dropped == 5
