"""Call behaviour that depends on what the provider's codec can do."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trio
import trio.testing
from conftest import CALL_ID, audio_payloads

from trio_plivo import MULAW_8K, CallClosed
from trio_plivo._format import L16_8K
from trio_plivo.audio import DtmfDetector, convert, decode_wire, dtmf_tones
from trio_plivo.call import CallConfig, open_call
from trio_plivo.protocol import Dtmf, Hangup, PlivoCodec, Start


class InBandCodec(PlivoCodec):
    """A Plivo-shaped codec for a provider with no DTMF events and no DTMF command."""

    has_dtmf_events = False
    supports_dtmf_out = False


class HangupCodec(PlivoCodec):
    supports_hangup = True

    def send(self, command):
        if isinstance(command, Hangup):
            return json.dumps({"command": "callDisconnect"})
        return super().send(command)


async def test_dtmf_out_as_in_band_tones(pair, autojump_clock) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start(MULAW_8K)
        async with open_call(app, codec=InBandCodec()) as call:
            await call.send_dtmf("5#")
            await call.mark("end")
            wire = b"".join(audio_payloads(await peer.receive_until("checkpoint")))
    assert not any(r.message["event"] == "sendDTMF" for r in peer.received)
    presses = DtmfDetector(8000).feed(decode_wire(wire, MULAW_8K))
    assert [p.digit for p in presses] == ["5", "#"]


async def test_dtmf_in_detected_from_audio(pair, autojump_clock) -> None:
    app, peer = pair
    tones = convert(
        np.zeros(800, "<i2").tobytes() + dtmf_tones("7", 8000) + np.zeros(1600, "<i2").tobytes(),
        L16_8K,
        MULAW_8K,
    )
    with trio.fail_after(10):
        await peer.start(MULAW_8K)
        async with open_call(app, codec=InBandCodec()) as call:
            for i in range(0, len(tones) - 159, 160):
                await peer.media(tones[i : i + 160], chunk=i // 160 + 1)
            events = []
            while not any(isinstance(e, Dtmf) for e in events):
                events.append(await call.next_event())
    assert isinstance(events[0], Start)
    assert [e.digit for e in events if isinstance(e, Dtmf)] == ["7"]


async def test_plivo_dtmf_events_are_not_duplicated_by_detection(pair, autojump_clock) -> None:
    app, peer = pair
    tones = convert(dtmf_tones("3", 8000) + bytes(1600), L16_8K, MULAW_8K)
    with trio.fail_after(10):
        await peer.start(MULAW_8K)
        async with open_call(app) as call:
            for i in range(0, len(tones) - 159, 160):
                await peer.media(tones[i : i + 160])
            await trio.testing.wait_all_tasks_blocked()
            events = []
            while len(call._inbound):
                events.append(await call.next_event())
    assert not any(isinstance(e, Dtmf) for e in events)


async def test_hangup_through_the_rest_client(pair, autojump_clock) -> None:
    app, peer = pair
    hung_up: list[str] = []

    class FakeRest:
        async def hangup_call(self, call_uuid: str) -> bool:
            await trio.sleep(0.05)
            hung_up.append(call_uuid)
            return True

    with trio.fail_after(10):
        await peer.start(MULAW_8K)
        async with open_call(app, config=CallConfig(hangup_client=FakeRest())) as call:
            await call.hangup()
            assert call.ended
            with pytest.raises(CallClosed):
                await call.play(b"\xff" * 160)
    assert hung_up == [CALL_ID]
    with pytest.raises(CallClosed) as info:
        await peer.receive()
    assert info.value.code == 1000


async def test_hangup_with_an_in_stream_message_is_sent_before_closing(
    pair, autojump_clock
) -> None:
    app, peer = pair
    with trio.fail_after(10):
        await peer.start(MULAW_8K)
        async with open_call(app, codec=HangupCodec()) as call:
            await call.hangup()
    assert await peer.receive() == {"command": "callDisconnect"}
    with pytest.raises(CallClosed):
        await peer.receive()
