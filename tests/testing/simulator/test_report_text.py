"""The simulate/demo report reads right (issue #16, item 12)."""

from __future__ import annotations

import logging

import pytest
import trio

from trio_plivo.apps import echo
from trio_plivo.call import Call, serve_call
from trio_plivo.testing import CallerAudio, FakePlivo, format_report, run_handler
from trio_plivo.transport import memory_transport_pair


async def test_keys_gaps_and_checkpoints_are_named(autojump_clock) -> None:
    fake = FakePlivo(
        audio=CallerAudio.demo() + CallerAudio.silence(1.0), dtmf=[("5", 1.0), ("*", 2.5)]
    )
    text = format_report(await run_handler(echo, fake))
    assert "2 DTMF (keys 5 *)" in text
    # Jitter below a millisecond is no audible gap; values that small keep a decimal.
    assert "audible gaps: none (per frame p50 0 ms, p99" in text
    (line,) = [line for line in text.splitlines() if "checkpoint 'dtmf-5'" in line]
    assert "played, acknowledged" in line and "queued ahead of it" in line


async def test_a_real_gap_is_counted_with_its_length(autojump_clock) -> None:
    async def stutters(call: Call) -> None:
        await call.play(b"\x7f" * 1600)  # 200 ms
        await trio.sleep(0.5)  # nothing to play for half a second: the caller hears silence
        await call.play(b"\x7f" * 1600)
        await call.wait_played("end")

    text = format_report(await run_handler(stutters, FakePlivo(duration=2)))
    gaps = next(line for line in text.splitlines() if "audible gaps" in line)
    assert gaps.startswith("  audible gaps: 1, longest ")
    longest_ms = float(gaps.split("longest ")[1].split(" ms")[0])
    assert 200 <= longest_ms <= 520


async def test_a_call_cancelled_by_a_drain_still_logs_how_it_ended(
    autojump_clock, caplog: pytest.LogCaptureFixture
) -> None:
    async def forever(call: Call) -> None:
        await trio.sleep_forever()

    caplog.set_level(logging.INFO, logger="trio_plivo.call")
    app, peer = memory_transport_pair()
    fake = FakePlivo(duration=60)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(fake.run_on, peer)
        with trio.move_on_after(2):  # the drain's grace ran out
            await serve_call(app, forever)
        nursery.cancel_scope.cancel()
    ended = [r.getMessage() for r in caplog.records if " ended (" in r.getMessage()]
    assert len(ended) == 1 and "ended (code 1001: going away" in ended[0]
