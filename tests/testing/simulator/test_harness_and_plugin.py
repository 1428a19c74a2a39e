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


def test_a_crashing_handler_fails_the_users_test(pytester) -> None:
    """The README's assertions (no violations) pass on a handler that raises; the fixture
    makes the crash fail the test, with the call's report, unless the test expects it."""
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(
        """
        import pytest
        from trio_plivo.protocol import Dtmf
        from trio_plivo.testing import CallerAudio

        async def divides_by_zero_on_a_key(call):
            async for event in call:
                if isinstance(event, Dtmf):
                    1 / 0

        async def test_crash_is_raised(plivo_sim):
            report = await plivo_sim.run(
                divides_by_zero_on_a_key, audio=CallerAudio.silence(2), dtmf=[("5", 0.5)]
            )
            assert report.violations == ()

        async def test_crash_is_expected(plivo_sim):
            report = await plivo_sim.run(
                divides_by_zero_on_a_key,
                audio=CallerAudio.silence(2),
                dtmf=[("5", 0.5)],
                raise_handler_errors=False,
            )
            assert report.close.code == 1011

        async def test_crash_can_be_asserted(plivo_sim):
            with pytest.raises(ZeroDivisionError):
                await plivo_sim.run(
                    divides_by_zero_on_a_key, audio=CallerAudio.silence(2), dtmf=[("5", 0.5)]
                )
            assert plivo_sim.last_report.close.code == 1011

        async def test_a_hang_up_is_not_a_crash(plivo_sim):
            async def plays_until_hung_up(call):
                await call.play(b"\\x00" * 16000 * 5)
                await call.wait_played("end")

            report = await plivo_sim.run(plays_until_hung_up, duration=1)
            assert report.close.code is not None
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*test_crash_is_raised*", "*ZeroDivisionError*", "*the simulated call*"]
    )


def test_the_pytest_extra_brings_what_the_fixture_needs() -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).parents[3]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    needs = extras["optional-dependencies"]["pytest"]
    assert any(r.startswith("pytest-trio") for r in needs)
    assert any(r.startswith("pytest>") for r in needs)
    readme = (root / "README.md").read_text()
    assert "pip install 'trio-plivo[pytest]'" in readme and "trio_mode = true" in readme
