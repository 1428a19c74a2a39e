"""The user-facing test tools: run_handler, format_report and the pytest plugin."""

from __future__ import annotations

import trio
import trio.testing

from trio_plivo.apps import echo
from trio_plivo.call import Call
from trio_plivo.testing import CallerAudio, FakePlivo, format_report, run_handler

pytest_plugins = ["pytester"]


async def test_run_handler_runs_a_call_handler(autojump_clock) -> None:
    async def greet(call: Call) -> None:
        await call.play(b"\x10" * 8000)  # one second of µ-law
        await call.wait_played("greeting")

    report = await run_handler(greet, FakePlivo(duration=3))
    assert [c.name for c in report.checkpoints] == ["greeting"]
    assert report.checkpoints[0].outcome == "played"
    assert report.counts.audio_received_seconds == 1.0
    assert report.violations == ()
    text = format_report(report)
    assert "checkpoint 'greeting': played" in text
    assert "protocol violations: 0" in text


async def test_plugin_fixture_runs_on_the_autojump_clock(plivo_sim) -> None:
    start = trio.current_time()
    report = await plivo_sim.run(echo, audio=CallerAudio.demo(), dtmf=[("5", 1.0)])
    assert trio.lowlevel.current_clock() is plivo_sim
    assert trio.current_time() - start >= report.duration > 2
    assert [c.name for c in report.checkpoints] == ["dtmf-5"]
    assert report.time_to_first_audio is not None


def test_plugin_is_installed_for_users(pytester) -> None:
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(
        """
        from trio_plivo.apps import echo
        from trio_plivo.testing import CallerAudio

        async def test_echo(plivo_sim):
            report = await plivo_sim.run(echo, audio=CallerAudio.silence(1), dtmf=[("3", 0.5)])
            assert report.checkpoints[0].outcome == "played"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
