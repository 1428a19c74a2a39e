"""End to end in a real headless Chromium: the page served at /talk talks to an app.

The microphone is a WAV made here (silence, then speech-like sound) fed by Chromium's fake
capture device; the page captures it in its AudioWorklet, resamples and streams it. The app
greets (text + audio), hears the caller speak over the greeting (barge-in: clear, withdraw
the unheard text), says what it heard, answers; Hang up ends the call. Needs Debian's
``chromium`` and ``chromium-driver`` (``.ci/run`` installs them): skipped without them,
except under CI=true, where their absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import time
import wave
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
import trio
from talk_helpers import SECRET, talk_front, tone

from trio_plivo.call import Call, Mark
from trio_plivo.protocol import Dtmf, Media, MuteStream, SpeechStarted

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
GREETING = "Hello, this is the trio-plivo test agent. Tell me anything, I am listening to you now."
REPLY = "Thank you, I heard you."
#: Speech-like sound starts this far into the capture and lasts this long (then the file loops).
SPEECH_AT_S, SPEECH_S, FILE_S = 1.5, 1.6, 6.0

pytestmark = pytest.mark.slow


def _needs_chromium() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test; missing {missing}")
        pytest.skip(f"no headless browser here (missing {missing})")


def speech_like_wav(path: Path, rate: int = 48000) -> None:
    """Silence, then ``SPEECH_S`` of voiced syllables (a gliding pitch with harmonics, four
    syllables a second), then silence: loud enough for any energy detector, varied enough
    that the browser's noise suppression keeps it."""
    t = np.arange(int(FILE_S * rate)) / rate
    f0 = 130 + 25 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 16))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    window = (t >= SPEECH_AT_S) & (t < SPEECH_AT_S + SPEECH_S)
    signal = 0.25 * voice * syllables * window
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((signal * 32767).astype("<i2").tobytes())


def speech_like(seconds: float, rate: int) -> bytes:
    return b"".join(tone(200, rate, hz) for hz in [220, 247, 262, 294, 330] * 20)[
        : int(seconds * rate) * 2
    ]


@attrs.define
class Summary:
    """The server's side of the conversation."""

    lines: list[tuple[str, str]] = attrs.Factory(list)
    events: list[str] = attrs.Factory(list)
    duration_s: float | None = None
    close: tuple[int | None, str | None] | None = None
    done: trio.Event = attrs.Factory(trio.Event)


def listening_agent(summary: Summary):
    """Greets, barges out when spoken over, reports what it heard (by energy), answers."""

    async def app(call: Call) -> None:
        started = time.monotonic()
        rate = call.media_format.sample_rate

        async def say(text: str, audio: bytes) -> Mark:
            # (Shorter than the call's playback buffer: play() returns at once.)
            summary.lines.append(("assistant", text))
            await call.send_text("assistantMessage", text)
            await call.play(audio)
            return await call.mark()

        speaking: Mark | None = None
        loud = quiet = 0
        heard_ms = 0
        try:
            # Long enough that the caller's speech (the WAV loops) always lands on it.
            speaking = await say(GREETING, speech_like(FILE_S + 2, rate))
            async for event in call:
                if isinstance(event, Dtmf | MuteStream | SpeechStarted):
                    summary.events.append(type(event).__name__)
                if not isinstance(event, Media):
                    continue
                samples = np.frombuffer(event.payload, "<i2").astype(np.float64)
                rms = float(np.sqrt(np.mean(samples**2))) / 32768
                if rms > 0.01:
                    loud, quiet = loud + 1, 0
                    heard_ms += 20
                else:
                    quiet += 1
                    if quiet >= 5:
                        loud = 0
                if loud == 5 and speaking is not None and not speaking.done:
                    # Barge-in: stop talking, withdraw what was not heard.
                    await call.clear()
                    result = await speaking.wait()
                    words = summary.lines[-1][1].split()
                    kept = int(len(words) * result.played_ms / max(result.queued_ms, 1.0))
                    heard = " ".join(words[:kept])
                    summary.lines.append(("withdrawn", heard))
                    await call.send_text("cancelLastAssistantMessage", heard)
                    speaking = None
                if quiet == 15 and heard_ms >= 200:
                    text = f"(speech, about {heard_ms / 1000:.1f} s)"
                    summary.lines.append(("user", text))
                    await call.send_text("userMessage", text)
                    heard_ms = 0
                    speaking = await say(REPLY, speech_like(1.0, rate))
        finally:
            summary.duration_s = time.monotonic() - started
            summary.close = (call.close_code, call.close_reason)
            summary.done.set()

    return app


def _open_browser(wav: Path, profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--window-size=1000,760",
    ):
        options.add_argument(flag)
    # The system's driver, never one fetched by Selenium Manager.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def _wait_for(driver: Any, css: str, timeout: float = 40) -> Any:
    """The elements ``css`` selects, once there are any (polled; fails after ``timeout``)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css) or False
    )


def _screenshot_and_hang_up(driver: Any, screenshot: Path) -> None:
    """Keep what the page shows, then press Hang up and wait until it is ready to call."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.save_screenshot(str(screenshot))
    driver.find_element(By.ID, "call").click()
    WebDriverWait(driver, 10, poll_frequency=0.1).until(
        lambda d: d.find_element(By.ID, "call").text == "Call"
    )


def _converse(driver: Any, url: str, screenshot: Path) -> dict[str, Any]:
    """Drive the page like a person: call, speak (the WAV), press a key, mute, hang up."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    driver.find_element(By.ID, "call").click()
    [greeting] = _wait_for(driver, "#transcript li.assistant")
    greeting_text = greeting.text
    [withdrawn] = _wait_for(driver, "#transcript li.withdrawn del")
    struck = withdrawn.text
    [user] = _wait_for(driver, "#transcript li.user")
    user_text = user.text
    _wait_for(driver, "#transcript li.assistant:not(.withdrawn)")
    driver.find_element(By.CSS_SELECTOR, '#dialpad button[data-key="5"]').click()
    driver.find_element(By.ID, "mute").click()
    # The reply plays to its end: the page acknowledges its mark.
    WebDriverWait(driver, 30, poll_frequency=0.1).until(
        lambda d: d.execute_script("return window.talkState.marksAcked") >= 1
    )
    state = driver.execute_script("return window.talkState")
    _screenshot_and_hang_up(driver, screenshot)
    return {
        "greeting": greeting_text,
        "struck": struck,
        "user": user_text,
        "state": state,
        "status": driver.find_element(By.ID, "status").text,
        "transcript": [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#transcript li")],
    }


def _token_flow(driver: Any, url: str) -> dict[str, Any]:
    """A wrong token from the address bar, refused and explained; then the right one typed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "?token=wrong-guess")
    address = driver.current_url
    driver.find_element(By.ID, "call").click()
    WebDriverWait(driver, 30, poll_frequency=0.1).until(
        lambda d: "token" in d.find_element(By.ID, "status").text
    )
    refused = driver.find_element(By.ID, "status").text
    field = driver.find_element(By.ID, "token")
    field.clear()
    field.send_keys(SECRET)
    driver.find_element(By.ID, "call").click()
    WebDriverWait(driver, 30, poll_frequency=0.1).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript li.assistant")
    )
    driver.find_element(By.ID, "call").click()  # Hang up
    return {"address": address, "refused": refused}


async def test_a_conversation_in_headless_chromium(tmp_path: Path, monkeypatch) -> None:
    _needs_chromium()
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download
    wav = tmp_path / "caller.wav"
    speech_like_wav(wav)
    assert wav.stat().st_size < 1_000_000
    screenshot = tmp_path / "talk.png"
    summary = Summary()
    with trio.fail_after(120):
        async with talk_front(listening_agent(summary)) as front:
            url = f"http://127.0.0.1:{front.port}/talk"
            driver = await trio.to_thread.run_sync(_open_browser, wav, tmp_path / "profile")
            try:
                seen = await trio.to_thread.run_sync(_converse, driver, url, screenshot)
                await summary.done.wait()
                guarded = Summary()
                async with talk_front(listening_agent(guarded), browser_token=SECRET) as other:
                    url = f"http://127.0.0.1:{other.port}/talk"
                    token = await trio.to_thread.run_sync(_token_flow, driver, url)
                    await guarded.done.wait()
            finally:
                await trio.to_thread.run_sync(driver.quit)
    print(f"screenshot: {screenshot}")
    # In the page: the greeting, its unheard part struck through, the caller's turn, a reply.
    assert GREETING in seen["greeting"]
    assert GREETING.endswith(seen["struck"]) and seen["struck"]
    assert "speech, about" in seen["user"]
    assert any(REPLY in line for line in seen["transcript"])
    assert seen["state"]["framesSent"] > 50 and seen["state"]["framesReceived"] > 50
    assert seen["state"]["marksAcked"] >= 1 and seen["state"]["clears"] >= 1
    assert seen["status"].startswith("Call ended")
    # On the server: the same conversation, the key, the mute, a hang-up by the browser.
    kinds = [kind for kind, _ in summary.lines]
    assert kinds[:4] == ["assistant", "withdrawn", "user", "assistant"]
    assert GREETING.startswith(summary.lines[1][1])
    assert {"Dtmf", "MuteStream", "SpeechStarted"} <= set(summary.events)
    assert summary.close == (1000, "stream stopped by the provider")
    assert summary.duration_s is not None and summary.duration_s > SPEECH_AT_S + SPEECH_S
    assert screenshot.stat().st_size > 0
    # The token: taken from the address bar (and removed from it), refused with a clear
    # message (a browser only sees 1006 for a refused upgrade), accepted once typed.
    assert "token" not in token["address"]
    assert "Wrong or missing token" in token["refused"]
    assert other.server.total_calls == 1 and guarded.lines[0] == ("assistant", GREETING)
    kept = os.environ.get("TALK_SCREENSHOT")
    if kept:
        shutil.copyfile(screenshot, kept)


SPOKEN = Path(__file__).parent.parent / "data" / "agent" / "caller_question.wav"
#: The caller's speech starts this far into the capture; the file is long enough not to loop.
AGENT_SPEECH_AT_S, AGENT_FILE_S = 2.0, 30.0


def spoken_wav(path: Path, rate: int = 48000) -> None:
    """Silence, a recorded question (the speech a VAD hears), silence: one utterance."""
    from trio_plivo.audio import pcm16_from_bytes, read_wav, resample, write_wav

    question = read_wav(SPOKEN)
    speech = resample(pcm16_from_bytes(question.pcm), question.sample_rate, rate)
    samples = np.zeros(int(AGENT_FILE_S * rate), dtype=np.int16)
    start = int(AGENT_SPEECH_AT_S * rate)
    samples[start : start + speech.size] = speech
    write_wav(path, samples.astype("<i2").tobytes(), sample_rate=rate)


def _talk_to_the_agent(driver: Any, url: str, screenshot: Path) -> dict[str, Any]:
    """Call, let the WAV speak over the greeting, read the transcript, hang up."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    driver.find_element(By.ID, "call").click()
    greeting = _wait_for(driver, "#transcript li.assistant")[0].text
    struck = _wait_for(driver, "#transcript li.withdrawn del")[0].text
    user = _wait_for(driver, "#transcript li.user")[0].text
    # The agent's answer to what it could not understand.
    _wait_for(driver, "#transcript li.user ~ li.assistant:not(.withdrawn)")
    transcript = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#transcript li")]
    state = driver.execute_script("return window.talkState")
    _screenshot_and_hang_up(driver, screenshot)
    return {
        "greeting": greeting,
        "struck": struck,
        "user": user,
        "transcript": transcript,
        "state": state,
    }


async def test_the_offline_agent_in_headless_chromium(tmp_path: Path, monkeypatch) -> None:
    """The built-in offline agent (prerecorded prompts, no speech recognition) behind the
    page: greeting shown and heard, the caller's speech barges in and is withdrawn from the
    transcript, the turn is answered, Hang up ends the call with a summary on the server."""
    from trio_plivo.agent import Summary as AgentSummary
    from trio_plivo.agent import run_agent
    from trio_plivo.agent.offline import PromptTTS
    from trio_plivo.apps.agent import offline_agent_config

    _needs_chromium()
    monkeypatch.setenv("SE_OFFLINE", "true")
    wav = tmp_path / "caller.wav"
    spoken_wav(wav)
    screenshot = tmp_path / "agent.png"
    summaries: list[AgentSummary] = []
    ended = trio.Event()

    async def agent_app(call: Call) -> None:
        try:
            config = offline_agent_config(tts=PromptTTS(), stt=None)
            summaries.append(await run_agent(call, config))
        finally:
            ended.set()

    with trio.fail_after(120):
        async with talk_front(agent_app) as front:
            url = f"http://127.0.0.1:{front.port}/talk"
            driver = await trio.to_thread.run_sync(_open_browser, wav, tmp_path / "profile")
            try:
                seen = await trio.to_thread.run_sync(_talk_to_the_agent, driver, url, screenshot)
                await ended.wait()
            finally:
                await trio.to_thread.run_sync(driver.quit)
    print(f"screenshot: {screenshot}")
    assert seen["greeting"].endswith("Hello!")
    # The greeting was heard: audio played, its first sentence's mark acknowledged; then cleared.
    assert seen["state"]["framesReceived"] > 25 and seen["state"]["marksAcked"] >= 1
    assert seen["state"]["clears"] >= 1
    assert seen["struck"]  # the part of a sentence the caller did not hear
    assert "not understood" in seen["user"]
    user_at = next(i for i, line in enumerate(seen["transcript"]) if "not understood" in line)
    assert any("did not understand" in line for line in seen["transcript"][user_at:])
    (summary,) = summaries
    assert summary.ended_by == "caller"
    roles = [m.role for m in summary.messages]
    assert roles[:3] == ["assistant", "user", "assistant"]
    assert summary.messages[0].interrupted and not summary.messages[1].transcribed
    assert summary.duration > AGENT_SPEECH_AT_S
    assert screenshot.stat().st_size > 0
    kept = os.environ.get("TALK_AGENT_SCREENSHOT")
    if kept:
        shutil.copyfile(screenshot, kept)
