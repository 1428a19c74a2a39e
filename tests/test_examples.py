"""The examples run, against the simulator, and do what their docstrings say."""

from __future__ import annotations

import numpy as np
import pytest
from examples_loader import load_example

from trio_plivo import L16_8K, L16_16K, MULAW_8K
from trio_plivo.testing import CallerAudio, FakePlivo, run_handler


def load(name: str):
    return load_example(name)


async def test_echo_example(autojump_clock) -> None:
    echo = load("echo")
    report = await run_handler(
        echo.echo, FakePlivo(audio=CallerAudio.demo(), dtmf=[("5", 1.0), ("*", 2.0)])
    )
    assert report.counts.play_audio_received == report.counts.media_sent
    assert [c.outcome for c in report.checkpoints] == ["played"]
    assert len(report.clears) == 1


async def test_dtmf_menu_barge_in_then_goodbye_then_hangup(autojump_clock, caplog) -> None:
    menu = load("dtmf_menu")
    caplog.set_level("INFO", logger="menu")
    report = await run_handler(
        menu.menu, FakePlivo(audio=CallerAudio.silence(10), dtmf=[("1", 0.5), ("9", 3.0)])
    )
    outcomes = {c.name: c.outcome for c in report.checkpoints}
    # key pressed at 0.5 s while the 2.2 s menu played: its mark never reached Plivo, and the
    # app learned it was cleared after ~0.5 s
    assert "menu" not in outcomes
    assert "menu cleared after 500 of 2200 ms" in caplog.text
    assert outcomes["answer-1"] == "played"
    assert outcomes["goodbye"] == "played"  # heard in full before the hang-up
    assert report.close.by == "app"
    assert report.clears[0].heard_after < 0.15  # barge-in to silence within the lead


async def test_play_wav_example_into_a_mulaw_call(autojump_clock) -> None:
    play_wav = load("play_wav")
    wav = play_wav.load(None)
    assert wav.sample_rate == 24000
    report = await run_handler(
        play_wav.make_app(wav), FakePlivo(format=MULAW_8K, duration=wav.duration + 2)
    )
    assert report.violations == ()
    assert [c.outcome for c in report.checkpoints] == ["played"] * len(play_wav.sentences(wav))
    assert abs(report.counts.audio_received_seconds - wav.duration) < 0.03


@pytest.mark.parametrize("fmt", [MULAW_8K, L16_8K, L16_16K], ids=str)
async def test_builtin_echo_works_unchanged_for_every_plivo_format(autojump_clock, fmt) -> None:
    from trio_plivo.apps import echo

    caller = CallerAudio.demo()
    report = await run_handler(echo, FakePlivo(format=fmt, audio=caller, dtmf=[("5", 1.0)]))
    assert report.violations == ()  # contentType/sampleRate match the stream every time
    assert report.counts.play_audio_received == report.counts.media_sent
    assert [c.outcome for c in report.checkpoints] == ["played"]
    # what the caller heard is what they said, one echo later
    heard = np.frombuffer(report.heard, "<i2").astype(np.int32)
    assert np.abs(heard).max() > 1000
