"""Running the ``trio-plivo`` command in a subprocess until it prints what a test waits for."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def running_until(
    pattern: str, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    """Run ``trio-plivo ARGS`` until a stdout line matches ``pattern``; yield the process and
    the match. On the way out: SIGINT (a graceful drain), then a kill if it hangs."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "trio_plivo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        found = None
        for line in proc.stdout:
            if found := re.search(pattern, line):
                break
        assert found is not None, proc.stderr.read()
        yield proc, found
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
