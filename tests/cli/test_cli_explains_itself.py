"""The CLI explains itself (issue #16, item 14)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from trio_plivo.cli import build_parser, main
from trio_plivo.protocol import PROVIDERS


def _options() -> list[tuple[str, argparse.Action]]:
    found = []
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, parser in action.choices.items():
                found += [(command, a) for a in parser._actions]
    return found


def test_every_option_has_help_that_states_its_default() -> None:
    missing = []
    for command, action in _options():
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.dest
        if not action.help:
            missing.append(f"{command} {name}: no help")
        elif (
            action.option_strings
            and action.default not in (None, False, argparse.SUPPRESS)
            and "default" not in action.help
        ):
            missing.append(f"{command} {name}: default {action.default!r} not stated")
    assert missing == []


def test_provider_choices_are_in_the_same_order_everywhere() -> None:
    registry = [name for name in PROVIDERS if name != "auto"]
    for command, action in _options():
        if "--provider" in action.option_strings:
            assert action.choices is not None
            phone = [c for c in action.choices if c not in ("auto", "browser")]
            assert phone == registry, command


def test_log_level_is_accepted_after_the_command_too() -> None:
    parser = build_parser()
    assert parser.parse_args(["demo", "--log-level", "debug"]).log_level == "debug"
    assert parser.parse_args(["--log-level", "warning", "demo"]).log_level == "warning"
    assert parser.parse_args(["demo"]).log_level == "INFO"


def test_a_bad_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--log-level", "loud"])
    assert exit_.value.code == 2
    assert (
        "--log-level must be debug, info, warning or error, not 'loud'" in capsys.readouterr().err
    )


def test_the_dtmf_metavar_is_what_the_error_asks_for(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["simulate", "ws://h:1/stream", "--dtmf", "5"])
    assert "expected DIGIT@SECONDS (e.g. 5@1.5), got '5'" in capsys.readouterr().err
    (dtmf,) = [a for c, a in _options() if c == "simulate" and "--dtmf" in a.option_strings]
    assert dtmf.metavar == "DIGIT@SECONDS"


def test_a_bad_content_type_lists_the_valid_ones() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trio_plivo", "serve", "echo", "--answer", "--content-type", "mp3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("trio-plivo: content_type must be one of audio/x-l16;rate=8000")
    assert "audio/x-mulaw;rate=8000" in last and "'mp3'" in last
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["serve", "echo", "--port", "99999", "--log-level", "debug"],
            "port must be 0-65535 (0 picks a free port), got 99999",
        ),
        (
            ["simulate", "ws://127.0.0.1:1/stream", "--dtmf", "5"],
            "expected DIGIT@SECONDS (e.g. 5@1.5), got '5'",
        ),
        (["demo", "--log-level", "loud"], "--log-level must be debug, info, warning or error"),
    ],
)
def test_usage_errors_in_a_real_process(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trio_plivo", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
