"""The agent against the simulator: turn-taking, timings, end of call, hang-up, errors."""

from __future__ import annotations

import numpy as np
import pytest
import trio
import trio.lowlevel
from agent_fakes import FakeLLM, FakeSTT, FakeTTS, speech
from extras import needs_extra
from trio.testing import MockClock

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat
from trio_plivo.agent import AgentConfig, EndCall, Message, ProviderError, Summary, run_agent
from trio_plivo.call import Call
from trio_plivo.testing import CallerAudio, CallReport, FakePlivo, run_handler

pytestmark = needs_extra("webrtcvad", "agent")  # the default VAD (also in dev)

RATE = 8000


async def run(config: AgentConfig, fake: FakePlivo, summaries: list[Summary]) -> CallReport:
    async def handler(call: Call) -> None:
        summaries.append(await run_agent(call, config))

    with trio.fail_after(120):
        return await run_handler(handler, fake)


def bot_spans(report: CallReport) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of bot audio the caller heard. Gaps of up to
    20 ms are joined: a mark pads the sentence's last partial frame with silence."""
    voiced = report.heard_samples() != 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    spans: list[tuple[float, float]] = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if spans and a / RATE - spans[-1][1] <= 0.020 + 1e-9:
            spans[-1] = (spans[-1][0], b / RATE)
        else:
            spans.append((a / RATE, b / RATE))
    return spans


def heard_bot_seconds(report: CallReport) -> float:
    return float(np.count_nonzero(report.heard_samples())) / RATE


async def test_caller_speaks_bot_answers_after_the_end_of_turn(autojump_clock: MockClock) -> None:
    stt = FakeSTT(["what time is it"], latency=0.1)
    llm = FakeLLM(["It is noon. Anything else?"], latency=0.2)
    tts = FakeTTS(latency=0.05, ms_per_char=20)
    seen: list[Message] = []

    async def on_message(message: Message) -> None:
        await trio.lowlevel.checkpoint()  # async callbacks are awaited
        seen.append(message)

    config = AgentConfig(stt=stt, llm=llm, tts=tts, end_of_turn_ms=500, on_message=on_message)
    caller = CallerAudio.silence(0.5) + CallerAudio.from_pcm16(speech(1.0), RATE)
    summaries: list[Summary] = []
    report = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=5), summaries)

    (summary,) = summaries
    assert tuple(seen) == summary.messages
    assert [(m.role, m.content) for m in summary.messages] == [
        ("user", "what time is it"),
        ("assistant", "It is noon. Anything else?"),
    ]
    assert not summary.messages[1].interrupted
    assert summary.ended_by == "caller"
    # The LLM saw the user's words.
    assert [m.content for m in llm.seen[0]] == ["what time is it"]
    # Two sentences, each synthesised separately, heard back to back in full.
    assert tts.texts == ["It is noon.", "Anything else?"]
    spans = bot_spans(report)
    assert len(spans) == 1
    heard = heard_bot_seconds(report)
    assert heard == pytest.approx(len("It is noon.Anything else?") * 0.020, abs=0.002)
    # Speech ended at 1.5 s; the answer cannot start before end of turn + STT + LLM (+ two
    # token gaps to the end of the first sentence) + TTS, and comes within two frames of
    # that (webrtcvad's own ~80 ms hangover is taken off the end-of-turn silence).
    first_audio_at = spans[0][0]
    earliest = 1.5 + 0.5 + 0.1 + 0.2 + 0.02 + 0.05
    assert earliest - 0.02 <= first_audio_at < earliest + 0.045
    (turn,) = summary.turns
    assert turn.since_speech_end(turn.turn_end) == pytest.approx(500, abs=25)
    assert turn.since_speech_end(turn.stt_final) == pytest.approx(600, abs=25)
    assert turn.since_speech_end(turn.llm_first_token) == pytest.approx(800, abs=25)
    assert turn.since_speech_end(turn.tts_first_byte) == pytest.approx(850, abs=25)
    assert turn.response_ms is not None and turn.response_ms >= 850
    # Marks: one per sentence, all played.
    assert {c.outcome for c in report.checkpoints} == {"played"}
    assert report.clears == ()


@pytest.mark.parametrize("fmt", [L16_8K, MULAW_8K, L16_16K], ids=str)
async def test_the_stt_hears_each_utterance_whole_with_its_preroll_in_chunks(
    fmt: AudioFormat, autojump_clock: MockClock
) -> None:
    stt = FakeSTT(["one", "two"], latency=0.1)
    config = AgentConfig(stt=stt, llm=FakeLLM([]), tts=FakeTTS(), preroll_ms=200)
    rate = fmt.sample_rate
    phrase = CallerAudio.from_pcm16(speech(0.6, rate), rate)
    caller = CallerAudio.silence(1.0) + phrase + CallerAudio.silence(2.0) + phrase
    summaries: list[Summary] = []
    await run(config, FakePlivo(format=fmt, audio=caller, duration=5), summaries)

    assert len(stt.heard_chunks) == 2
    for chunks in stt.heard_chunks:
        # About 100 ms at a time (the pre-roll at once, the end with the resampler's tail),
        # not one 20 ms frame per hand-off.
        assert all(len(chunk) / 32000 >= 0.09 for chunk in chunks[:-1])
        samples = np.frombuffer(b"".join(chunks), dtype="<i2")
        # Only the utterance is converted to 16 kHz, in one stream flushed at its end:
        # exactly two samples per 8 kHz wire sample (one per 16 kHz), whole 20 ms frames.
        assert samples.size % 320 == 0
        loud = np.flatnonzero(np.abs(samples) > 1000)
        # The pre-roll: the 200 ms before the frame that confirmed the start of speech
        # (the VAD needs 60 ms of it), so the speech starts 140-200 ms into the audio.
        assert 0.12 <= loud[0] / 16000 <= 0.2
        # The whole phrase, continuous, then the end-of-turn silence.
        assert (loud[-1] - loud[0]) / 16000 == pytest.approx(0.6, abs=0.01)
        assert samples.size / 16000 - loud[-1] / 16000 > 0.3


async def test_first_message_is_spoken_before_the_caller_talks(autojump_clock: MockClock) -> None:
    tts = FakeTTS(latency=0.05, ms_per_char=20)
    config = AgentConfig(
        stt=FakeSTT([]), llm=FakeLLM([]), tts=tts, first_message="Hello, how can I help?"
    )
    summaries: list[Summary] = []
    report = await run(config, FakePlivo(format=L16_8K, duration=2), summaries)
    assert [(m.role, m.content) for m in summaries[0].messages] == [
        ("assistant", "Hello, how can I help?")
    ]
    (span,) = bot_spans(report)
    assert span[0] == pytest.approx(0.05, abs=0.03)
    assert heard_bot_seconds(report) == pytest.approx(
        len("Hello, how can I help?") * 0.02, abs=0.002
    )


async def test_a_short_sound_over_the_bot_is_not_a_turn(autojump_clock: MockClock) -> None:
    tts = FakeTTS(ms_per_char=50)
    stt = FakeSTT(["uh-huh"], latency=0.1)
    llm = FakeLLM(["Should not be asked."])
    config = AgentConfig(
        stt=stt,
        llm=llm,
        tts=tts,
        first_message="A long enough greeting to talk over it.",
        min_barge_in_ms=400,
    )
    caller = CallerAudio.silence(0.5) + CallerAudio.from_pcm16(speech(0.2), RATE)
    summaries: list[Summary] = []
    report = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=4), summaries)
    assert report.clears == ()
    assert llm.seen == []  # dropped: never became a user turn
    assert [m.role for m in summaries[0].messages] == ["assistant"]
    assert not summaries[0].messages[0].interrupted


async def test_end_call_waits_until_the_goodbye_is_heard(autojump_clock: MockClock) -> None:
    goodbye = "Thank you for calling. Goodbye."
    stt = FakeSTT(["bye"])
    llm = FakeLLM([[goodbye, EndCall("caller is done")]])
    tts = FakeTTS(ms_per_char=30)
    config = AgentConfig(stt=stt, llm=llm, tts=tts, end_of_turn_ms=400)
    caller = CallerAudio.silence(0.3) + CallerAudio.from_pcm16(speech(0.6), RATE)
    # Caller speech that would be a barge-in, during the goodbye: it must not cut it.
    caller += CallerAudio.silence(1.6) + CallerAudio.from_pcm16(speech(1.0), RATE)
    summaries: list[Summary] = []
    report = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=30), summaries)

    (summary,) = summaries
    assert summary.ended_by == "agent"
    assert summary.messages[-1].content == goodbye
    assert not summary.messages[-1].interrupted
    assert report.close.by == "app"
    assert report.clears == ()
    spans = bot_spans(report)
    heard = heard_bot_seconds(report)
    assert heard == pytest.approx(len("Thank you for calling.Goodbye.") * 0.030, abs=0.002)
    # Closed after the last of the goodbye played, and not long after.
    assert spans[-1][1] <= report.close.at < spans[-1][1] + 0.5
    assert all(c.outcome == "played" for c in report.checkpoints)


async def test_app_can_end_the_call_with_a_goodbye(autojump_clock: MockClock) -> None:
    from trio_plivo.agent import Agent

    tts = FakeTTS(ms_per_char=30)
    config = AgentConfig(stt=FakeSTT([]), llm=FakeLLM([]), tts=tts)
    results: list[Summary] = []

    async def handler(call: Call) -> None:
        agent = Agent(call, config)
        async with trio.open_nursery() as nursery:

            async def ender() -> None:
                await trio.sleep(1.0)
                await agent.end_call("Time is up. Goodbye.")

            nursery.start_soon(ender)
            results.append(await agent.run())

    with trio.fail_after(60):
        report = await run_handler(handler, FakePlivo(format=L16_8K, duration=20))
    assert results[0].ended_by == "app"
    (span,) = bot_spans(report)
    assert heard_bot_seconds(report) == pytest.approx(len("Time is up.Goodbye.") * 0.03, abs=0.002)
    assert span[1] <= report.close.at < span[1] + 0.5


async def test_caller_hang_up_mid_answer_closes_every_provider_connection(
    autojump_clock: MockClock,
) -> None:
    stt = FakeSTT(["tell me a story"])
    llm = FakeLLM(["Once upon a time " + "there was a story that went on and on. " * 20])
    tts = FakeTTS(ms_per_char=40, realtime=0.5)
    ended: list[Summary] = []
    config = AgentConfig(stt=stt, llm=llm, tts=tts, on_end=ended.append, end_of_turn_ms=400)
    caller = CallerAudio.silence(0.3) + CallerAudio.from_pcm16(speech(0.8), RATE)
    summaries: list[Summary] = []
    # The caller hangs up at 3 s, well into the answer.
    report = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=3), summaries)

    assert report.close.by == "plivo"
    assert bot_spans(report)  # the answer had started
    for service in (stt, llm, tts):
        assert service.connections.opened >= 2, service  # session + at least one stream
        assert service.connections.open_now == 0, service.connections.names
    assert llm.streams_finished == 0  # the LLM stream was cut, not drained
    (summary,) = ended
    assert summary is summaries[0]
    assert summary.ended_by == "caller"
    last = summary.messages[-1]
    assert last.role == "assistant" and last.interrupted
    assert last.intended is not None and last.intended.startswith(last.content)


async def test_llm_error_ends_the_turn_with_an_apology_and_the_call_goes_on(
    autojump_clock: MockClock,
) -> None:
    stt = FakeSTT(["first", "second"])
    llm = FakeLLM([ProviderError("fake-llm", "HTTP 500", status_code=500), "Second answer."])
    tts = FakeTTS(ms_per_char=20)
    config = AgentConfig(stt=stt, llm=llm, tts=tts, apology="Sorry, say again?", end_of_turn_ms=400)
    caller = CallerAudio.silence(0.3) + CallerAudio.from_pcm16(speech(0.6), RATE)
    caller += CallerAudio.silence(2.5) + CallerAudio.from_pcm16(speech(0.6), RATE)
    summaries: list[Summary] = []
    report = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=8), summaries)

    (summary,) = summaries
    assert summary.provider_errors == 1
    assert [(m.role, m.content) for m in summary.messages] == [
        ("user", "first"),
        ("assistant", "Sorry, say again?"),
        ("user", "second"),
        ("assistant", "Second answer."),
    ]
    assert summary.turns[0].error is not None and "HTTP 500" in summary.turns[0].error
    assert len(bot_spans(report)) == 2


async def test_stt_error_is_apologised_for(autojump_clock: MockClock) -> None:
    stt = FakeSTT(["lost"], fail_on=[0])
    llm = FakeLLM([])
    tts = FakeTTS(ms_per_char=20)
    config = AgentConfig(stt=stt, llm=llm, tts=tts, apology="Pardon?", end_of_turn_ms=400)
    caller = CallerAudio.silence(0.3) + CallerAudio.from_pcm16(speech(0.6), RATE)
    summaries: list[Summary] = []
    await run(config, FakePlivo(format=L16_8K, audio=caller, duration=4), summaries)
    assert [m.content for m in summaries[0].messages] == ["Pardon?"]
    assert llm.seen == []
    assert summaries[0].provider_errors == 1


async def test_tts_error_mid_answer_is_silence_not_a_crash(autojump_clock: MockClock) -> None:
    stt = FakeSTT(["go"])
    llm = FakeLLM(["Fine first sentence. Broken second sentence."])
    tts = FakeTTS(ms_per_char=20, fail=lambda text: "Broken" in text or "Sorry" in text)
    config = AgentConfig(stt=stt, llm=llm, tts=tts, apology="Sorry.", end_of_turn_ms=400)
    caller = CallerAudio.silence(0.3) + CallerAudio.from_pcm16(speech(0.6), RATE)
    summaries: list[Summary] = []
    report = await run(config, FakePlivo(format=L16_8K, audio=caller, duration=4), summaries)
    (summary,) = summaries
    assert summary.ended_by == "caller"
    assert summary.messages[1].content == "Fine first sentence."
    assert summary.provider_errors == 2  # the answer, then its apology
    assert len(bot_spans(report)) == 1
