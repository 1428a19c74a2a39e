"""A supervisor in a real subprocess, and echo calls that count every frame they get back.

Which worker serves a call is read from the workers' own log lines (``worker=N ... call ID
started (stream SID)``): the same evidence an operator has. Everything here waits by polling
with a deadline; nothing asserts on a sleep.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from trio_plivo import ConnectionClosed
from trio_plivo.testing._loadtest._wire import CallWire
from trio_plivo.ws import WebSocket, connect_websocket

HERE = Path(__file__).parent
#: Generous: the test machine is shared, and every worker is a fresh interpreter.
STARTUP_S = 30.0
DEADLINE_S = 15.0
FRAME_S = 0.02

_SUPERVISOR = """
import json, logging, sys
logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
from trio_plivo.workers import RestartPolicy, run_workers
kwargs = json.loads(sys.argv[1])
restart = kwargs.pop("restart", None)
sys.exit(run_workers(**kwargs, restart=None if restart is None else RestartPolicy(**restart)))
"""
_CALL_STARTED = re.compile(r"worker=(\d+) trio_plivo\.call: call \S+ started \(stream ([^)]+)\)")
_ACCEPTING = r"worker {wid} \(pid (\d+)\) accepting on port (\d+)"


async def eventually(predicate: Callable[[], object], what: str, within: float = DEADLINE_S):
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``within`` s."""
    deadline = trio.current_time() + within
    while not (result := predicate()):
        if trio.current_time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await trio.sleep(0.02)
    return result


@dataclass(eq=False)
class Supervisor:
    """``run_workers(...)`` in a subprocess; its stdout and stderr lines as they come."""

    process: trio.Process
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    url: str = ""

    def find(self, pattern: str) -> list[re.Match[str]]:
        rx = re.compile(pattern)
        return [m for line in self.stderr if (m := rx.search(line))]

    async def wait_log(self, pattern: str, within: float = DEADLINE_S) -> re.Match[str]:
        matches = await eventually(lambda: self.find(pattern), f"log {pattern!r}", within)
        return matches[-1]

    def worker_of_streams(self) -> dict[str, int]:
        """Stream id -> the worker that logged its start."""
        return {
            m.group(2): int(m.group(1)) for line in self.stderr if (m := _CALL_STARTED.search(line))
        }

    async def worker_pid(self, wid: int, *, not_pid: int | None = None) -> int:
        def pid() -> int | None:
            pids = [int(m.group(1)) for m in self.find(_ACCEPTING.format(wid=wid))]
            return next((p for p in reversed(pids) if p != not_pid), None)

        found = await eventually(pid, f"worker {wid} accepting", STARTUP_S)
        assert isinstance(found, int)
        return found


async def _pump(stream: trio.abc.ReceiveStream, lines: list[str]) -> None:
    buffer = b""
    while chunk := await stream.receive_some():
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines.extend(line.decode(errors="replace") for line in complete)


async def start_supervisor(nursery: trio.Nursery, **kwargs: Any) -> Supervisor:
    """Start ``run_workers(**kwargs)`` (``restart`` as a dict of RestartPolicy fields) and
    wait for its ``listening on`` line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    env.pop("PLIVO_AUTH_TOKEN", None)
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", _SUPERVISOR, json.dumps(kwargs)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    supervisor = Supervisor(process)
    assert process.stdout is not None
    assert process.stderr is not None
    nursery.start_soon(_pump, process.stdout, supervisor.stdout)
    nursery.start_soon(_pump, process.stderr, supervisor.stderr)
    line = await eventually(
        lambda: supervisor.stdout or process.poll() is not None, "listening on", STARTUP_S
    )
    assert supervisor.stdout, f"the supervisor exited: {line}\n" + "\n".join(supervisor.stderr)
    match = re.match(r"listening on (ws://\S+)", supervisor.stdout[0])
    assert match, supervisor.stdout
    supervisor.url = match.group(1)
    return supervisor


async def stop_supervisor(supervisor: Supervisor) -> None:
    """Leave nothing behind, whatever the test did."""
    if supervisor.process.returncode is None:
        supervisor.process.kill()
    with trio.CancelScope(shield=True):
        await supervisor.process.wait()


@dataclass(eq=False)
class EchoCall:
    """One Plivo caller against the echo app: a frame every 20 ms, each echo counted."""

    ws: WebSocket
    tag: int
    wire: CallWire = field(
        default_factory=lambda: CallWire("plivo", timestamp_origin_ms=int(time.time() * 1000))
    )
    sent: int = 0
    echoed: set[int] = field(default_factory=set)
    checkpoints: list[str] = field(default_factory=list)
    sending: bool = True
    closed_by_server: bool = False
    hang_up: trio.Event = field(default_factory=trio.Event)

    @property
    def stream_id(self) -> str:
        return self.wire.stream_id

    def all_echoed(self) -> bool:
        return self.echoed == set(range(self.sent))

    async def run(self) -> None:
        try:
            for message in self.wire.opening():
                await self.ws.send_message(message)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._send)
                nursery.start_soon(self._receive)
                await self.hang_up.wait()
                nursery.cancel_scope.cancel()
        except* (ConnectionClosed, trio.BrokenResourceError):
            self.closed_by_server = True
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await self.ws.aclose()

    async def _send(self) -> None:
        while self.sending:
            await self.ws.send_message(self.wire.media(self.sent, self.tag, self.sent * 20))
            self.sent += 1
            await trio.sleep(FRAME_S)

    async def _receive(self) -> None:
        while True:
            message = await self.ws.receive_message()
            reply = self.wire.audio(message)
            if reply is None:
                control = self.wire.control(message)
                if control.kind == "checkpoint" and control.name is not None:
                    self.checkpoints.append(control.name)
            elif reply.header is not None:
                counter, tag = reply.header
                assert tag == self.tag
                self.echoed.add(counter)


def streams_logged(supervisor: Supervisor, calls: list[EchoCall]) -> dict[str, int] | None:
    """Stream id -> worker once every call's start is logged, else ``None``."""
    mapping = supervisor.worker_of_streams()
    return mapping if all(c.stream_id in mapping for c in calls) else None


async def open_calls(
    nursery: trio.Nursery, url: str, count: int, first_tag: int = 0
) -> list[EchoCall]:
    calls = []
    for tag in range(first_tag, first_tag + count):
        call = EchoCall(await connect_websocket(url), tag)
        nursery.start_soon(call.run)
        calls.append(call)
    return calls
