"""Each simulated provider's playout and acknowledgement semantics, driven by a real ``Call``
over the matching codec, on the virtual clock."""

from __future__ import annotations

import numpy as np
import pytest
import trio
from trio.testing import MockClock

from trio_plivo.audio import encode_wire
from trio_plivo.call import Call, MarkStatus
from trio_plivo.protocol import DetectingCodec
from trio_plivo.testing import CallerAudio, CallReport, FakeProvider, run_handler
from trio_plivo.testing._simulator._providers import PHONE_PROVIDERS, SIMULATED

ALL = list(SIMULATED)
#: What each provider says after a clear, besides echoing marks.
CLEAR_REPLY = {"plivo": "clearedAudio", "vonage": "websocket:cleared"}
MARK_ECHO = {"plivo": "playedStream", "vonage": "websocket:notify"}


def tone(call: Call, seconds: float) -> bytes:
    fmt = call.media_format
    assert fmt is not None
    samples = np.full(round(seconds * fmt.sample_rate), 3000, dtype=np.int16)
    return encode_wire(samples, fmt)


async def run(provider: str, handler, **options: object) -> CallReport:  # type: ignore[no-untyped-def]
    options.setdefault("duration", 2.0)
    fake = FakeProvider(provider=provider, **options)  # type: ignore[arg-type]
    with trio.fail_after(30):
        return await run_handler(handler, fake)


@pytest.mark.parametrize("provider", ALL)
async def test_a_mark_is_acked_once_the_audio_before_it_played(
    provider: str, autojump_clock: MockClock
) -> None:
    results = []

    async def handler(call: Call) -> None:
        await call.play(tone(call, 0.5))
        mark = await call.mark("after-tone")
        results.append(await mark.wait())

    report = await run(provider, handler)
    assert [r.status for r in results] == [MarkStatus.PLAYED]
    assert report.violations == ()
    heard = report.heard_samples()
    rate = report.format.sample_rate
    assert abs(int(heard[round(0.25 * rate)])) > 1000  # the tone was heard
    if provider == "kookoo":  # no marks on the wire: every packet is acknowledged instead
        assert report.checkpoints == ()
        assert report.counts.packet_acks == report.counts.play_audio_received > 0
    else:
        [checkpoint] = report.checkpoints
        assert (checkpoint.name, checkpoint.outcome) == ("after-tone", "played")
        assert checkpoint.acked_at == pytest.approx(0.5, abs=0.11)
        echo = MARK_ECHO.get(provider, "mark")
        assert len(report.events_named(echo, "to_app")) == 1


@pytest.mark.parametrize("provider", ALL)
async def test_clear_semantics(provider: str, autojump_clock: MockClock) -> None:
    results = []

    async def handler(call: Call) -> None:
        async with trio.open_nursery() as nursery:

            async def play_and_mark() -> None:
                await call.play(tone(call, 0.3))
                mark = await call.mark("cut-off")
                results.append(await mark.wait())

            nursery.start_soon(play_and_mark)
            # The call paces its audio (100 ms lead), so by now the mark is on the wire,
            # pending at the provider behind the last 50 ms of tone.
            await trio.sleep(0.25)
            await call.clear()

    report = await run(provider, handler)
    assert [r.status for r in results] == [MarkStatus.CLEARED]
    assert report.violations == ()
    [clear] = report.clears
    assert clear.heard_after == 0.0  # the audio stopped at the clear
    rate = report.format.sample_rate
    after = report.heard_samples()[round((clear.at + 0.05) * rate) : round(1.0 * rate)]
    assert not after.any()  # nothing of the cleared tone was heard afterwards
    replies = CLEAR_REPLY.get(provider)
    assert len(report.events_named(replies or "<none>", "to_app")) == (1 if replies else 0)
    if provider == "kookoo":
        assert report.checkpoints == ()
        assert report.counts.packet_acks < report.counts.play_audio_received
        return
    [checkpoint] = report.checkpoints
    assert checkpoint.outcome == "cleared"
    echoes = report.events_named(MARK_ECHO.get(provider, "mark"), "to_app")
    if provider in ("twilio", "signalwire"):
        # Twilio echoes every pending mark at once on clear.
        assert checkpoint.acked_at == pytest.approx(clear.at)
        assert [(e.at, e.fields["mark"]) for e in echoes] == [(clear.at, {"name": "cut-off"})]
    else:
        # Plivo, Exotel, Telnyx and Vonage never acknowledge a cleared mark.
        assert checkpoint.acked_at is None
        assert echoes == ()


async def test_kookoo_key_presses_are_tones_the_call_detects(autojump_clock: MockClock) -> None:
    digits: list[str] = []

    async def handler(call: Call) -> None:
        from trio_plivo.protocol import Dtmf

        async for event in call:
            if isinstance(event, Dtmf):
                digits.append(event.digit)

    report = await run(
        "kookoo",
        handler,
        audio=CallerAudio.demo(),
        dtmf=[("5", 0.5), ("#", 1.2)],
    )
    assert digits == ["5", "#"]
    assert [e.fields for e in report.events_named("<dtmf tone>")] == [
        {"digit": "5"},
        {"digit": "#"},
    ]
    assert report.counts.dtmf_sent == 2


async def test_kookoo_call_disconnect_hangs_up(autojump_clock: MockClock) -> None:
    async def handler(call: Call) -> None:
        await trio.sleep(0.3)
        await call.hangup()

    report = await run("kookoo", handler, duration=5.0)
    assert report.events_named("callDisconnect", "from_app")
    assert report.duration == pytest.approx(0.3, abs=0.05)
    assert report.violations == ()


@pytest.mark.parametrize(("provider", "frame_ms"), [("exotel", 100), ("kookoo", 10)])
async def test_media_goes_out_in_the_providers_packets(
    provider: str, frame_ms: int, autojump_clock: MockClock
) -> None:
    async def handler(call: Call) -> None:
        async for _ in call:
            pass

    report = await run(provider, handler, duration=1.0)
    assert report.counts.media_sent == 1000 // frame_ms


@pytest.mark.parametrize("provider", PHONE_PROVIDERS)
async def test_detection_sees_the_right_provider(provider: str, autojump_clock: MockClock) -> None:
    seen = []

    async def handler(call: Call) -> None:
        seen.append(call.provider)

    await run_handler(
        handler, FakeProvider(provider=provider, duration=0.1), codec=DetectingCodec()
    )
    assert seen == ["twilio" if provider == "signalwire" else provider]
