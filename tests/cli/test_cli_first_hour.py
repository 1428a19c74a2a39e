"""Everyday mistakes get one actionable line, checked at start-up (issue #16, items 2-4, 14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trio_plivo import CallHooks, ConfigurationError, __version__
from trio_plivo.apps import load_app


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trio_plivo", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_a_port_out_of_range_is_a_usage_error_not_a_wrapped_port() -> None:
    result = _cli("serve", "echo", "--port", "99999")
    assert result.returncode == 2
    assert "port must be 0-65535 (0 picks a free port), got 99999" in result.stderr
    assert "Traceback" not in result.stderr


def test_version() -> None:
    result = _cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"trio-plivo {__version__}"


def test_an_app_that_is_not_a_call_handler_is_refused_at_start_up() -> None:
    result = _cli("serve", "json:dumps", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "trio-plivo: 'json:dumps' is not an app: an app is `async def app(call)` or a "
        "CallHooks (it is not an async function)"
    ]


def test_an_app_module_in_the_current_directory_is_found(tmp_path: Path) -> None:
    (tmp_path / "mybot_first_hour.py").write_text("def app(call, extra):\n    pass\n")
    result = _cli("serve", "mybot_first_hour:app", "--port", "0", cwd=tmp_path)
    # Imported from the current directory; then refused for what it is, not "No module named".
    assert result.returncode == 2
    assert "is not an app" in result.stderr
    assert "No module named" not in result.stderr


def test_a_missing_module_says_where_it_looked(tmp_path: Path) -> None:
    result = _cli("serve", "no_such_bot_module:app", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert f"looked in the current directory {tmp_path}" in result.stderr


async def _one_argument(call: object) -> None: ...


async def _two_arguments(call: object, other: object) -> None: ...


def _sync(call: object) -> None: ...


class _AsyncCallable:
    async def __call__(self, call: object) -> None: ...


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("_one_argument", True),
        ("_AsyncCallable_instance", True),
        ("_hooks", True),
        ("_two_arguments", False),
        ("_sync", False),
    ],
)
def test_load_app_checks_what_it_loaded(name: str, accepted: bool) -> None:
    module = sys.modules[__name__]
    module._AsyncCallable_instance = _AsyncCallable()  # type: ignore[attr-defined]
    module._hooks = CallHooks()  # type: ignore[attr-defined]
    spec = f"{__name__}:{name}"
    if accepted:
        assert load_app(spec) is getattr(module, name)
    else:
        with pytest.raises(ConfigurationError, match="is not an app"):
            load_app(spec)
