"""Real ``redis-server`` processes for the fleet tests, started and stopped by the fixtures.

Without ``redis-server`` on the PATH the tests that need it are skipped, except under CI
(``CI=true``), where that is a broken machine setup and fails instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import attrs
import pytest
import trio

STARTUP_DEADLINE_S = 15.0

#: The password of the password-protected servers: long and odd, so a leak is unmistakable,
#: and with characters a URL must percent-encode.
PASSWORD = "pw-Zq8!vX3#redis/secret"


@attrs.frozen
class RedisServer:
    port: int
    password: str | None
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return self.url_with(self.password) if self.password else f"redis://127.0.0.1:{self.port}/0"

    def url_with(self, password: str) -> str:
        return f"redis://:{quote(password, safe='')}@127.0.0.1:{self.port}/0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    """Whether a server answers on ``port`` (a password-protected one answers -NOAUTH)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            reply = conn.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def start_redis(directory: Path, *, password: str | None = None) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must provide it (.ci/run installs it)")
        pytest.skip(reason)
    port = _free_port()
    log = directory / f"redis-{port}.log"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--dir", str(directory), "--logfile", str(log)]
    if password is not None:
        args += ["--requirepass", password]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while not _answers_ping(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            text = log.read_text() if log.exists() else "(no log)"
            pytest.fail(f"redis-server on port {port} did not come up:\n{text[-2000:]}")
        time.sleep(0.02)
    return RedisServer(port, password, process, log)


def stop_redis(server: RedisServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One password-less server for the whole session; tests keep apart by namespace."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    stop_redis(server)


@pytest.fixture(scope="session")
def redis_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A second server that requires :data:`PASSWORD`."""
    server = start_redis(tmp_path_factory.mktemp("redis-auth"), password=PASSWORD)
    yield server
    stop_redis(server)


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A password-protected server for one test, which may reconfigure it."""
    server = start_redis(tmp_path, password=PASSWORD)
    yield server
    stop_redis(server)


@pytest.fixture
def namespace() -> str:
    """A key namespace no other test uses."""
    return f"t-{secrets.token_hex(6)}"


async def eventually(check: Callable[[], Awaitable[bool]], *, deadline_s: float = 10.0) -> None:
    """Poll the async predicate ``check`` until it returns true; fail after ``deadline_s``."""
    with trio.move_on_after(deadline_s):
        while not await check():  # noqa: ASYNC110 (the state is in another process)
            await trio.sleep(0.05)
        return
    pytest.fail(f"condition not met within {deadline_s} s")


def everything_said(error: BaseException) -> str:
    """What an exception can show: its str and repr, and those of every exception chained to
    it (shown or suppressed), for checking that a secret appears in none."""
    said = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        said += [str(current), repr(current), *map(str, current.args)]
        pending += [current.__cause__, current.__context__]
    return "\n".join(said)
