"""Without redis-server the Redis tests skip, naming it, except under CI, where they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ONE_REDIS_TEST = "tests/fleet/test_client.py::test_a_password_protected_server"
ROOT = Path(__file__).resolve().parents[2]


def run_without_redis_server(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's tools, not /usr/bin
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ONE_REDIS_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("ci", "outcome"), [(None, "1 skipped"), ("true", "1 error")])
def test_missing_redis_server(ci: str | None, outcome: str) -> None:
    result = run_without_redis_server(ci)
    assert outcome in result.stdout, result.stdout[-2000:]
    assert "redis-server is not installed" in result.stdout
