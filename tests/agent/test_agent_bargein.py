"""Barge-in against the simulator: playback stops, the answer is abandoned, and the
conversation keeps exactly what the caller heard."""

from __future__ import annotations

import numpy as np
import pytest
from agent_fakes import FakeLLM, FakeSTT, FakeTTS, run_agent_on, speech
from extras import needs_extra
from trio.testing import MockClock

from trio_plivo import L16_8K
from trio_plivo.agent import AgentConfig
from trio_plivo.testing import CallerAudio, CallReport, FakePlivo

pytestmark = needs_extra("webrtcvad", "agent")

RATE = 8000
GREETING = (
    "Welcome to the demo line where we talk about many interesting things today. "
    "Please listen carefully to every option."
)


run = run_agent_on


def words_heard(text: str, heard_ms: float, ms_per_char: float) -> str:
    """The whole words of ``text`` whose audio (``ms_per_char`` each) ended within
    ``heard_ms``: what a listener who heard that much could repeat."""
    out: list[str] = []
    position = 0
    for word in text.split(" "):
        end = position + len(word)
        if end * ms_per_char > heard_ms + 1e-6:
            break
        out.append(word)
        position = end + 1
    return " ".join(out)


def first_span_ms(report: CallReport) -> float:
    """Milliseconds of bot audio heard before its first silence longer than a frame."""
    voiced = report.heard_samples() != 0
    start = int(np.argmax(voiced))
    silent = np.flatnonzero(~voiced[start:])
    end = start + (int(silent[0]) if silent.size else voiced.size - start)
    return (end - start) / RATE * 1000


@pytest.mark.parametrize("barge_at", [1.0, 1.37, 2.11])
async def test_barge_in_keeps_exactly_the_heard_words(
    autojump_clock: MockClock, barge_at: float
) -> None:
    tts = FakeTTS(ms_per_char=40, latency=0.05)
    stt = FakeSTT(["wait"])
    llm = FakeLLM(["Yes?"])
    config = AgentConfig(stt=stt, llm=llm, tts=tts, first_message=GREETING, min_barge_in_ms=300)
    caller = CallerAudio.silence(barge_at) + CallerAudio.from_pcm16(speech(0.8), RATE)
    fake = FakePlivo(format=L16_8K, audio=caller, duration=6, barge_in_at=[barge_at])
    report, summary = await run(config, fake)

    # Playback stopped, by a clear, within min_barge_in + VAD start after the caller began,
    # and stayed silent until the answer to the interruption.
    assert len(report.clears) == 1
    (barge,) = report.barge_ins
    assert barge.cleared
    assert 0.25 <= barge.heard_after < 0.45
    quiet = report.heard_samples()[
        round(barge.silent_at * RATE) : round((barge.silent_at + 0.5) * RATE)
    ]
    assert not quiet.any()

    greeting, user, answer = summary.messages
    assert greeting.interrupted and greeting.intended == GREETING
    heard_ms = first_span_ms(report)
    first_sentence = GREETING.split(". ")[0] + "."
    assert greeting.content == words_heard(first_sentence, heard_ms, 40)
    assert greeting.content  # something was heard
    assert (user.content, answer.content) == ("wait", "Yes?")
    # The model was told what the caller heard, not what it meant to say.
    assert llm.seen[0][0].content == greeting.content
    assert summary.turns[0].interrupted is False


async def test_barge_in_during_a_streaming_sentence_never_claims_unheard_words(
    autojump_clock: MockClock,
) -> None:
    # TTS produces audio only as fast as it plays: the sentence is still being synthesised
    # when the caller cuts in, so its length is estimated.
    tts = FakeTTS(ms_per_char=40, latency=0.05, realtime=1.0, chunk_ms=100)
    config = AgentConfig(
        stt=FakeSTT(["stop"]), llm=FakeLLM(["Okay."]), tts=tts, first_message=GREETING
    )
    caller = CallerAudio.silence(1.2) + CallerAudio.from_pcm16(speech(0.8), RATE)
    report, summary = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=6))
    greeting = summary.messages[0]
    assert greeting.interrupted
    heard_ms = first_span_ms(report)
    actually_heard = words_heard(GREETING, heard_ms, 40)
    assert actually_heard.startswith(greeting.content)
    assert len(greeting.content) > len(actually_heard) // 2  # and not absurdly little


async def test_barge_in_while_thinking_abandons_the_answer(autojump_clock: MockClock) -> None:
    stt = FakeSTT(["tell me", "never mind"])
    llm = FakeLLM(["This answer comes too late.", "Okay."], latency=1.5)
    tts = FakeTTS(ms_per_char=20)
    config = AgentConfig(stt=stt, llm=llm, tts=tts, end_of_turn_ms=400)
    caller = CallerAudio.silence(0.2) + CallerAudio.from_pcm16(speech(0.5), RATE)
    caller += CallerAudio.silence(0.8) + CallerAudio.from_pcm16(speech(0.6), RATE)
    _, summary = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=8))
    assert [(m.role, m.content) for m in summary.messages] == [
        ("user", "tell me"),
        ("user", "never mind"),
        ("assistant", "Okay."),
    ]
    assert llm.streams_finished == 1  # the first stream was cancelled...
    assert llm.connections.opened == 3  # (session + two streams)
    assert llm.connections.open_now == 0  # ...and closed
    assert tts.texts == ["Okay."]


async def test_key_press_barges_in(autojump_clock: MockClock) -> None:
    tts = FakeTTS(ms_per_char=40)
    llm = FakeLLM(["You pressed one."])
    config = AgentConfig(llm=llm, tts=tts, first_message=GREETING)  # no STT: keys only
    report, summary = await run(config, FakePlivo(format=L16_8K, duration=6, dtmf=[("1", 1.0)]))
    (clear,) = report.clears
    assert clear.at == pytest.approx(1.0, abs=0.03)
    greeting, key, answer = summary.messages
    assert greeting.interrupted
    assert (key.content, key.dtmf) == ("1", True)
    assert answer.content == "You pressed one."


async def test_barge_in_can_be_disabled(autojump_clock: MockClock) -> None:
    tts = FakeTTS(ms_per_char=40)
    config = AgentConfig(
        stt=FakeSTT(["hello"]),
        llm=FakeLLM(["Hi."]),
        tts=tts,
        first_message=GREETING,
        allow_barge_in=False,
    )
    caller = CallerAudio.silence(1.0) + CallerAudio.from_pcm16(speech(0.8), RATE)
    report, summary = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=8))
    assert report.clears == ()
    assert summary.messages[0].content == GREETING
    assert not summary.messages[0].interrupted
