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


async def test_without_on_error_a_failing_hook_ends_the_call_1011(autojump_clock) -> None:
    hooks = CallHooks()

    @hooks.on_dtmf
    def boom(call, event) -> None:
        raise RuntimeError("boom")

    report = await run_handler(hooks, FakePlivo(audio=CallerAudio.silence(2), dtmf=[("1", 0.5)]))
    assert report.close.code == 1011
    assert report.close.by == "app"
    assert report.close.at < 0.6
