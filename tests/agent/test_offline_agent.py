"""The built-in offline agent: rule-based menu by keys, prompts or espeak-ng, optional
pocketsphinx."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trio
from extras import needs_extra
from trio.testing import MockClock

from trio_plivo.agent import EndCall, Message, Summary, run_agent
from trio_plivo.agent.offline import PromptTTS, RuleDialogue, menu_grammar
from trio_plivo.apps.agent import agent, offline_agent_config
from trio_plivo.call import Call
from trio_plivo.testing import CallerAudio, FakePlivo, run_handler

DATA = Path(__file__).resolve().parent.parent / "data" / "agent"


def user(text: str, *, dtmf: bool = False) -> Message:
    return Message(role="user", content=text, dtmf=dtmf)


@pytest.mark.parametrize(
    ("message", "starts"),
    [
        (user("1", dtmf=True), "Here is a fun fact."),
        (user("one"), "Here is a fun fact."),
        (user("2", dtmf=True), "Press or say one"),
        (user("5", dtmf=True), "You pressed five."),
        (user("yes agent"), "I heard yes agent."),
        (user("purple monkey"), "Sorry, I did not understand."),
    ],
)
def test_rules(message: Message, starts: str) -> None:
    reply = RuleDialogue().answer(message)
    assert isinstance(reply[0], str) and reply[0].startswith(starts)
    assert not any(isinstance(e, EndCall) for e in reply)


def test_rules_goodbye_ends_the_call_before_saying_it() -> None:
    for message in (user("9", dtmf=True), user("goodbye")):
        assert RuleDialogue().answer(message) == [
            EndCall("caller chose to hang up"),
            "Thank you for calling. Goodbye!",
        ]


def test_prompts_cover_everything_the_rules_say() -> None:
    prompts = PromptTTS()
    rules = RuleDialogue()
    assert prompts.covers(rules.first_message)
    for text in ["1", "2", "5", "*", "9"]:
        for event in rules.answer(user(text, dtmf=True)):
            assert isinstance(event, EndCall) or prompts.covers(event), event
    assert prompts.covers("I heard one two yes.")
    assert not prompts.covers("I heard banana.")


async def run_menu(tts: object, keys: list[tuple[str, float]]) -> tuple[Summary, object]:
    config = offline_agent_config(tts=tts, debug=True)  # type: ignore[arg-type]
    summaries: list[Summary] = []

    async def handler(call: Call) -> None:
        summaries.append(await run_agent(call, config))

    with trio.fail_after(120):
        report = await run_handler(handler, FakePlivo(duration=60, dtmf=keys))
    return summaries[0], report


async def test_offline_menu_by_keys_with_prompts(autojump_clock: MockClock) -> None:
    summary, report = await run_menu(PromptTTS(), [("1", 12.0), ("9", 25.0)])
    contents = [(m.role, m.content) for m in summary.messages]
    assert contents[0][0] == "assistant" and contents[0][1].startswith("Hello!")
    assert contents[1] == ("user", "1")
    assert contents[2][1].startswith("Here is a fun fact.")
    assert contents[-1] == ("assistant", "Thank you for calling. Goodbye!")
    assert summary.ended_by == "agent"
    assert report.close.by == "app"  # type: ignore[attr-defined]
    assert all(c.outcome == "played" for c in report.checkpoints)  # type: ignore[attr-defined]
    heard = report.heard_samples()  # type: ignore[attr-defined]
    assert np.count_nonzero(heard[(25 * 8000) :]) > 8000  # about a second of goodbye


@needs_extra("espeakng_loader", "tts")
async def test_offline_menu_with_espeak(autojump_clock: MockClock) -> None:
    from trio_plivo.agent.offline import EspeakTTS

    summary, report = await run_menu(EspeakTTS(), [("5", 12.0), ("9", 25.0)])
    assert summary.messages[2].content.startswith("You pressed five.")
    assert summary.ended_by == "agent"
    assert report.close.by == "app"  # type: ignore[attr-defined]


async def test_builtin_app_greets_and_hangs_up_on_nine(autojump_clock: MockClock) -> None:
    with trio.fail_after(120):
        report = await run_handler(agent, FakePlivo(duration=60, dtmf=[("9", 3.0)]))
    assert report.close.by == "app"
    assert len(report.clears) == 1  # the key cut the greeting
    assert report.checkpoints[-1].outcome == "played"  # the goodbye was heard


def test_menu_grammar() -> None:
    grammar = menu_grammar(["one", "two"])
    assert "<word> = one | two;" in grammar
    assert grammar.startswith("#JSGF V1.0;")


@needs_extra("pocketsphinx", "stt-lite")
async def test_pocketsphinx_understands_a_menu_word(autojump_clock: MockClock) -> None:
    from trio_plivo.agent.offline import PocketsphinxSTT

    config = offline_agent_config(tts=PromptTTS(), stt=PocketsphinxSTT())
    summaries: list[Summary] = []

    async def handler(call: Call) -> None:
        summaries.append(await run_agent(call, config))

    caller = CallerAudio.silence(9.0) + CallerAudio.from_wav(DATA / "caller_one.wav")
    with trio.fail_after(120):
        await run_handler(handler, FakePlivo(audio=caller, duration=20))
    users = [m.content for m in summaries[0].messages if m.role == "user"]
    assert users and "one" in users[0]
