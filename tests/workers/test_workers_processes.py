"""Real worker processes on one port: spread, a killed worker, SIGTERM, crash loops."""

from __future__ import annotations

import logging
import os
import signal
import socket
from functools import partial

import pytest
import trio
from workers_helpers import (
    DEADLINE_S,
    STARTUP_S,
    EchoCall,
    eventually,
    open_calls,
    start_supervisor,
    stop_supervisor,
    streams_logged,
)

from trio_plivo.workers import RestartPolicy, ServeOptions, WorkerPool, run_workers
from trio_plivo.ws import WebSocketHandshakeError, connect_websocket

pytestmark = pytest.mark.slow


def _by_worker(calls: list[EchoCall], workers: dict[str, int]) -> dict[int, list[EchoCall]]:
    grouped: dict[int, list[EchoCall]] = {}
    for call in calls:
        grouped.setdefault(workers[call.stream_id], []).append(call)
    return grouped


async def _calls_on_every_worker(nursery, supervisor, workers: int, count: int):
    """Open calls until every worker serves at least two (the kernel picks, by hash)."""
    calls: list[EchoCall] = []
    while True:
        calls += await open_calls(nursery, supervisor.url, count, first_tag=len(calls))
        mapping = await eventually(
            partial(streams_logged, supervisor, list(calls)),
            "every call's start logged with its worker",
        )
        grouped = _by_worker(calls, mapping)
        if all(len(grouped.get(w, [])) >= 2 for w in range(workers)):
            return calls, grouped
        assert len(calls) < 64, f"the kernel sent {len(calls)} calls to workers {set(grouped)}"


async def _echoing(calls: list[EchoCall], frames: int, what: str) -> None:
    marks = {call: len(call.echoed) for call in calls}
    await eventually(lambda: all(len(c.echoed) >= marks[c] + frames for c in calls), what)


async def _stop_sending_and_check(calls: list[EchoCall]) -> None:
    for call in calls:
        call.sending = False
    await eventually(lambda: all(c.all_echoed() for c in calls), "every frame echoed")
    assert all(not c.closed_by_server for c in calls)


async def test_two_workers_share_one_port_and_sigterm_drains_both() -> None:
    async with trio.open_nursery() as nursery:
        supervisor = await start_supervisor(nursery, app="echo", workers=2, port=0)
        try:
            calls, grouped = await _calls_on_every_worker(nursery, supervisor, 2, 12)
            pids = {await supervisor.worker_pid(0), await supervisor.worker_pid(1)}
            assert len(pids) == 2  # two processes, one port
            await _echoing(calls, 10, "every call echoing")

            supervisor.process.send_signal(signal.SIGTERM)
            for wid in (0, 1):
                await supervisor.wait_log(
                    rf"worker={wid} trio_plivo.server: draining \d+ active call"
                )
            # Draining: no new call is taken, the active ones go on.
            with pytest.raises((OSError, WebSocketHandshakeError)):
                await connect_websocket(supervisor.url, connect_timeout=5)
            await _echoing(calls, 10, "calls echoing while draining")
            await _stop_sending_and_check(calls)
            for call in calls:
                call.hang_up.set()
            with trio.fail_after(DEADLINE_S):
                assert await supervisor.process.wait() == 0
            assert len(grouped[0]) + len(grouped[1]) == len(calls)
        finally:
            await stop_supervisor(supervisor)
            nursery.cancel_scope.cancel()


async def test_kill_9_ends_only_that_workers_calls_and_a_replacement_accepts() -> None:
    async with trio.open_nursery() as nursery:
        supervisor = await start_supervisor(nursery, app="echo", workers=2, port=0)
        try:
            calls, grouped = await _calls_on_every_worker(nursery, supervisor, 2, 8)
            await _echoing(calls, 5, "every call echoing")
            victim = await supervisor.worker_pid(1)
            survivors = grouped[0]
            sent_before = {call: call.sent for call in survivors}

            os.kill(victim, signal.SIGKILL)
            await supervisor.wait_log(rf"worker 1 \(pid {victim}\) killed by SIGKILL .*restarting")
            await eventually(
                lambda: all(c.closed_by_server for c in grouped[1]), "worker 1's calls ended"
            )
            replacement = await supervisor.worker_pid(1, not_pid=victim)
            assert replacement != victim

            # The replacement takes calls: new ones go to both workers again.
            more, regrouped = await _calls_on_every_worker(nursery, supervisor, 2, 4)
            assert all(not c.closed_by_server for c in regrouped[1])
            # Worker 0's calls went on through it all, without one lost frame.
            await _echoing(survivors, 10, "worker 0's calls echoing after the restart")
            await _stop_sending_and_check(survivors)
            assert all(c.sent > sent_before[c] + 10 for c in survivors)

            supervisor.process.send_signal(signal.SIGTERM)
            for call in calls + more:
                call.hang_up.set()
            with trio.fail_after(DEADLINE_S):
                assert await supervisor.process.wait() == 0
        finally:
            await stop_supervisor(supervisor)
            nursery.cancel_scope.cancel()


def test_a_crash_loop_stops_the_pool_with_a_failure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # crashing_app exits the interpreter as it is imported: the worker dies every time.
    monkeypatch.setenv("PYTHONPATH", os.path.dirname(__file__))
    caplog.set_level(logging.INFO, logger="trio_plivo.workers")
    policy = RestartPolicy(first_delay=0.01, max_deaths=3, window=STARTUP_S)
    status = run_workers("crashing_app:handler", workers=2, port=0, restart=policy)
    assert status == 1
    assert "exited with status 7" in caplog.text
    assert "a crash loop; stopping" in caplog.text


def test_an_app_that_cannot_load_stops_the_pool_at_once(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, logger="trio_plivo.workers")
    status = run_workers("no_such_module_for_workers:handler", workers=2, port=0)
    assert status == 2
    assert "cannot load its app: stopping" in caplog.text
    assert "restarting" not in caplog.text
    # The worker said why, in a line carrying its id.
    assert "worker=" in capfd.readouterr().err


async def test_a_pool_in_this_trio_run_without_so_reuseport_serves_one_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without SO_REUSEPORT a single worker is still supervised, on an ordinary listener.
    monkeypatch.delattr(socket, "SO_REUSEPORT")
    monkeypatch.setenv("PYTHONPATH", os.path.dirname(__file__))
    pool = WorkerPool(ServeOptions("worker_id_app:handler"), workers=1, port=0)
    async with trio.open_nursery() as nursery:
        statuses: list[int] = []

        async def run() -> None:
            statuses.append(await pool.run(handle_signals=False))

        nursery.start_soon(run)
        with trio.fail_after(STARTUP_S):
            assert await pool.wait_ready()
        (pid,) = pool.worker_pids.values()
        assert pool.url == f"ws://127.0.0.1:{pool.bound_port}/stream"
        (call,) = await open_calls(nursery, pool.url, 1)
        # The app saw its worker id (and ran in the worker process, not here).
        await eventually(lambda: call.checkpoints, "the app's checkpoint")
        assert call.checkpoints == [f"worker-0-pid-{pid}"]
        await _echoing([call], 5, "the call echoing")
        await _stop_sending_and_check([call])
        call.hang_up.set()
        pool.shutdown()
    assert statuses == [0]


async def test_workers_outliving_a_killed_supervisor_drain_and_exit() -> None:
    async with trio.open_nursery() as nursery:
        supervisor = await start_supervisor(nursery, app="echo", workers=2, port=0)
        try:
            pids = [await supervisor.worker_pid(0), await supervisor.worker_pid(1)]
            supervisor.process.kill()  # no chance to stop its workers
            await eventually(lambda: not any(map(_running, pids)), "the orphans to exit")
            assert len(supervisor.find(r"the supervisor is gone: draining")) == 2
        finally:
            await stop_supervisor(supervisor)
            nursery.cancel_scope.cancel()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
