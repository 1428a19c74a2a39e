"""The agent's conversation on a screen: what it says, what it heard, what it withdrew.

The browser page is simulated (``FakeProvider(provider="browser")``): the same handler that
serves a phone call shows the conversation there, and the page's player acknowledges marks
as the audio plays, so a barge-in withdraws exactly what was not heard.
"""

from __future__ import annotations

import trio
from agent_fakes import FakeLLM, FakeSTT, FakeTTS, run_agent_on, speech
from extras import needs_extra
from trio.testing import MockClock

from trio_plivo import L16_16K
from trio_plivo.agent import AgentConfig, Summary, run_agent
from trio_plivo.agent.offline import PromptTTS
from trio_plivo.apps.agent import offline_agent_config
from trio_plivo.call import Call
from trio_plivo.testing import CallerAudio, CallReport, FakePlivo, FakeProvider, run_handler

pytestmark = needs_extra("webrtcvad", "agent")

RATE = 16000
GREETING = "Welcome to the demo line. We talk about many interesting things here today."


run = run_agent_on


def lines(report: CallReport) -> list[tuple[str, str]]:
    return [(line.kind, line.text) for line in report.conversation]


async def test_the_conversation_is_shown_and_a_barge_in_withdraws_the_unheard_part(
    autojump_clock: MockClock,
) -> None:
    tts = FakeTTS(ms_per_char=40, latency=0.05, sample_rate=RATE)
    config = AgentConfig(
        stt=FakeSTT(["wait"]), llm=FakeLLM(["Yes?"]), tts=tts, first_message=GREETING
    )
    # The caller speaks over the greeting's second sentence (the first lasts about 1 s).
    caller = CallerAudio.silence(1.6) + CallerAudio.from_pcm16(speech(0.8, RATE), RATE)
    fake = FakeProvider(provider="browser", format=L16_16K, audio=caller, duration=6)
    report, summary = await run(config, fake)

    first, second = "Welcome to the demo line.", GREETING.split(". ")[1]
    greeting, user, answer = summary.messages
    assert greeting.interrupted and greeting.content.startswith(first)
    heard_of_second = greeting.content[len(first) :].strip()
    assert second.startswith(heard_of_second) and heard_of_second != second
    assert lines(report) == [
        ("assistantMessage", first),
        ("assistantMessage", second),
        # Only the sentence cut in the middle is withdrawn, and it comes back as heard.
        ("cancelLastAssistantMessage", heard_of_second),
        ("userMessage", "wait"),
        ("assistantMessage", "Yes?"),
    ]
    (cancel,) = [line for line in report.conversation if line.kind.startswith("cancel")]
    assert cancel.at >= report.clears[0].at  # after the clear, never before
    assert (user.content, answer.content) == ("wait", "Yes?")
    assert report.violations == ()


async def test_a_phone_call_gets_no_conversation_lines(autojump_clock: MockClock) -> None:
    config = AgentConfig(stt=FakeSTT([]), llm=FakeLLM([]), tts=FakeTTS(), first_message=GREETING)
    report, summary = await run(config, FakePlivo(duration=8))
    assert summary.messages[0].content == GREETING
    assert report.conversation == ()
    assert report.violations == ()


async def test_without_speech_recognition_speech_still_takes_a_turn_and_barges_in(
    autojump_clock: MockClock,
) -> None:
    llm = FakeLLM(["I heard you, but not the words."])
    config = AgentConfig(llm=llm, tts=FakeTTS(sample_rate=RATE), first_message=GREETING)
    caller = CallerAudio.silence(1.6) + CallerAudio.from_pcm16(speech(0.8, RATE), RATE)
    fake = FakeProvider(provider="browser", format=L16_16K, audio=caller, duration=6)
    report, summary = await run(config, fake)

    assert len(report.clears) == 1  # the speech cut the greeting
    greeting, user, answer = summary.messages
    assert greeting.interrupted
    assert (user.role, user.content, user.transcribed) == ("user", "", False)
    assert llm.seen[0][-1] == user
    assert answer.content == "I heard you, but not the words."
    kinds = [kind for kind, _ in lines(report)]
    assert kinds[-2:] == ["userMessage", "assistantMessage"]
    assert "not understood" in lines(report)[-2][1]


async def test_one_handler_serves_a_phone_call_and_a_browser_conversation(
    autojump_clock: MockClock,
) -> None:
    """The built-in offline agent (prerecorded prompts, no speech recognition), unchanged:
    a key press on a phone call, speech in a browser tab."""
    summaries: list[Summary] = []

    async def handler(call: Call) -> None:
        summaries.append(await run_agent(call, offline_agent_config(tts=PromptTTS(), stt=None)))

    with trio.fail_after(120):
        phone = await run_handler(handler, FakePlivo(duration=20, dtmf=[("1", 3.0)]))
        caller = CallerAudio.silence(3.0) + CallerAudio.from_pcm16(speech(1.0, RATE), RATE)
        browser = await run_handler(
            handler, FakeProvider(provider="browser", audio=caller, duration=20)
        )
    on_phone, in_browser = summaries
    assert [m.content for m in on_phone.messages if m.role == "user"] == ["1"]
    assert on_phone.messages[2].content.startswith("Here is a fun fact.")
    assert phone.conversation == ()

    user = next(m for m in in_browser.messages if m.role == "user")
    assert not user.transcribed
    shown = lines(browser)
    assert shown[0] == ("assistantMessage", "Hello!")
    assert "cancelLastAssistantMessage" in [kind for kind, _ in shown]  # speech barged in
    reply = shown[shown.index(next(s for s in shown if s[0] == "userMessage")) + 1]
    assert reply == ("assistantMessage", "Sorry, I did not understand.")
    assert phone.violations == () and browser.violations == ()


def test_the_model_is_told_when_speech_could_not_be_transcribed() -> None:
    from trio_plivo.agent import Message
    from trio_plivo.agent._providers.openai_llm import to_chat_messages

    chat = to_chat_messages([Message(role="user", content="", transcribed=False)], "")
    assert chat == [
        {"role": "user", "content": "[The caller said something that could not be transcribed]"}
    ]


def test_the_summary_reads_as_a_transcript() -> None:
    from trio_plivo.agent import Message

    summary = Summary(
        messages=(
            Message(
                role="assistant",
                content="Hello! This is the",
                interrupted=True,
                intended="Hello! This is the demo.",
            ),
            Message(role="user", content="1", dtmf=True),
            Message(role="user", content="", transcribed=False),
            Message(role="user", content="goodbye"),
            Message(role="assistant", content="", interrupted=True, intended="Bye."),
        ),
        duration=3.0,
        ended_by="caller",
    )
    assert summary.transcript().splitlines() == [
        "agent: Hello! This is the [cut off; not heard: demo.]",
        "caller: (key 1)",
        "caller: (speech, not understood)",
        "caller: goodbye",
        "agent: [cut off; not heard: Bye.]",
    ]
