"""The SDK-style hook layer on top of Call."""

from __future__ import annotations

import trio

from trio_plivo.call import CallHooks
from trio_plivo.protocol import Dtmf, Media, Start
from trio_plivo.testing import CallerAudio, FakePlivo, run_handler


async def test_hooks_dispatch_sync_and_async_and_errors(autojump_clock) -> None:
    hooks = CallHooks()
    seen: list[str] = []

    @hooks.on_start
    def started(call, event: Start) -> None:
        seen.append(f"start:{call.stream_id == event.stream_id}")

    @hooks.on_media
    async def media(call, event: Media) -> None:
        await call.play(event.payload)

    @hooks.on_dtmf
    async def dtmf(call, event: Dtmf) -> None:
        seen.append(f"dtmf:{event.digit}")
        if event.digit == "9":
            raise RuntimeError("bad digit")
        await call.mark(f"after-{event.digit}")

    @hooks.on_played_stream
    def played(call, event) -> None:
        seen.append(f"played:{event.name}")

    @hooks.on_error
    def error(call, exc: Exception) -> None:
        seen.append(f"error:{exc}")

    @hooks.on_close
    async def closed(call) -> None:
        await trio.lowlevel.checkpoint()
        seen.append("close")

    report = await run_handler(
        hooks,
        FakePlivo(audio=CallerAudio.silence(2), dtmf=[("1", 0.5), ("9", 1.0)]),
    )
    assert seen == ["start:True", "dtmf:1", "played:after-1", "dtmf:9", "error:bad digit", "close"]
    assert report.counts.play_audio_received == 100  # every frame echoed by on_media
    assert report.close.code == 1000


async def test_without_on_error_a_failing_hook_is_logged_and_the_call_goes_on(
    autojump_clock, caplog
) -> None:
    hooks = CallHooks()
    presses: list[str] = []

    @hooks.on_dtmf
    def boom(call, event) -> None:
        presses.append(event.digit)
        raise RuntimeError("boom")

    fake = FakePlivo(audio=CallerAudio.silence(2), dtmf=[("1", 0.5), ("2", 1.0)])
    report = await run_handler(hooks, fake)
    assert presses == ["1", "2"]  # the second press still reached its hook
    assert report.close.code == 1000 and report.close.by == "plivo"
    failures = [r for r in caplog.records if "on_dtmf hook failed" in r.getMessage()]
    assert len(failures) == 2
    assert report.call_id in failures[0].getMessage()


async def test_a_failing_on_start_ends_the_call_1011(autojump_clock) -> None:
    hooks = CallHooks()
    errors: list[str] = []

    @hooks.on_start
    def boom(call, event) -> None:
        raise RuntimeError("cannot set up")

    @hooks.on_error
    def told(call, exc: Exception) -> None:
        errors.append(str(exc))

    report = await run_handler(hooks, FakePlivo(audio=CallerAudio.silence(2)))
    assert errors == ["cannot set up"]
    assert report.close.code == 1011 and report.close.by == "app"
    assert report.close.at < 0.1


async def test_a_slow_on_start_does_not_delay_a_key_press(autojump_clock) -> None:
    """The greeting is awaited in on_start; a key pressed at 1 s reaches on_dtmf at 1 s and
    barges in (it reached it at 3 s when hooks ran one at a time)."""
    hooks = CallHooks()
    dtmf_at: list[float] = []

    @hooks.on_start
    async def greet(call, event) -> None:
        await call.play(b"\x7f" * 8000 * 3)  # three seconds of prompt (µ-law)
        await call.wait_played("greeting-heard")

    @hooks.on_dtmf
    async def barge_in(call, event) -> None:
        dtmf_at.append(trio.current_time())
        await call.clear()

    fake = FakePlivo(audio=CallerAudio.silence(5), dtmf=[("1", 1.0)])
    report = await run_handler(hooks, fake)
    assert len(dtmf_at) == 1 and dtmf_at[0] - report.clears[0].at < 0.05
    assert 1.0 <= report.clears[0].at < 1.1
    assert report.clears[0].heard_after < 0.2  # the prompt stopped at once


async def test_each_kind_stays_in_order_and_on_event_sees_everything(autojump_clock) -> None:
    hooks = CallHooks()
    digits: list[str] = []
    kinds: list[str] = []

    @hooks.on_dtmf
    async def slow_digit(call, event) -> None:
        await trio.sleep(0.3)  # slower than the presses come
        digits.append(event.digit)

    @hooks.on_event
    def every(call, event) -> None:
        kinds.append(type(event).__name__)

    presses = [("1", 0.2), ("2", 0.3), ("3", 0.4), ("4", 0.5)]
    await run_handler(hooks, FakePlivo(audio=CallerAudio.silence(3), dtmf=presses))
    assert digits == ["1", "2", "3", "4"]
    assert kinds[0] == "Start" and kinds.count("Dtmf") == 4 and "Media" in kinds
