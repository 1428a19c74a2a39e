"""The supervisor: starts the worker processes, restarts the ones that die, stops them all.

It runs no call itself. It checks the options, reserves the port (see :mod:`._sockets`),
starts one process per worker and waits: for each worker's readiness line, for its exit,
for SIGTERM/SIGINT.

* A worker that dies is logged with its exit status (the signal's name when it was killed)
  and started again after a delay that doubles with each quick death of that worker
  (``RestartPolicy.first_delay`` up to ``max_delay``; back to the first delay once a worker
  has run for ``window`` seconds). More than ``max_deaths`` deaths across the pool within
  ``window`` seconds is a crash loop: the supervisor stops every worker and exits 1.
* A worker that cannot load its app before the pool was ever ready exits with
  ``CONFIGURATION_EXIT``: restarting cannot help, so the supervisor stops and exits 2.
* SIGTERM or SIGINT is forwarded once to every worker, which drains like ``trio-plivo serve``
  (no new calls; active calls get ``shutdown_grace`` seconds). A second signal is forwarded
  too and interrupts the drains. A worker still running ``stop_timeout`` seconds after the
  first is killed. Exit 0 when every worker drained by itself, 1 when one had to be killed.

Workers run in their own process group, so a terminal's Ctrl-C reaches only the supervisor
and each worker gets exactly the one signal the supervisor forwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable

import attrs
import trio

from .._exceptions import ConfigurationError
from ..call import Call
from ._identity import WORKER_ID_ENV
from ._options import CONFIGURATION_EXIT, ServeOptions, WorkerSpec, build_server
from ._sockets import Reservation, reserve, reuseport_balances, reuseport_unavailable

__all__ = ["RestartPolicy", "WorkerPool", "describe_exit"]

logger = logging.getLogger("trio_plivo.workers")

#: Exit statuses of the supervisor.
EXIT_OK = 0
EXIT_FAILED = 1  # a crash loop, or a worker that did not drain in time
EXIT_CONFIGURATION = 2  # as ``trio-plivo`` exits for a ConfigurationError


@attrs.frozen
class RestartPolicy:
    """When to restart a worker that died, and when to give up."""

    #: Delay before the first restart of a worker; doubled for each further quick death.
    first_delay: float = 0.1
    max_delay: float = 10.0
    #: Give up after more than this many deaths within ``window`` seconds (``None``: the
    #: larger of 5 and the number of workers, so one death of every worker is not a loop).
    max_deaths: int | None = None
    window: float = 30.0
    #: Seconds between the forwarded stop signal and killing a worker that has not exited
    #: (``None``: the server's ``shutdown_grace`` plus 10 s to close connections).
    stop_timeout: float | None = None

    def delay(self, quick_deaths: int) -> float:
        """The delay before a restart after ``quick_deaths`` (>= 1) deaths in a row."""
        return float(min(self.max_delay, self.first_delay * 2 ** max(0, quick_deaths - 1)))


def describe_exit(status: int) -> str:
    """A worker's exit status in words: ``killed by SIGKILL``, ``exited with status 1``."""
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"killed by {name}"
    return f"exited with status {status}"


def _ready_port(line: bytes) -> int | None:
    """The port in a worker's ``ready PORT`` line."""
    words = line.split()
    if len(words) != 2 or words[0] != b"ready" or not words[1].isdigit():
        return None
    return int(words[1])


async def _placeholder_app(call: Call) -> None:
    """Stands in for the app while the supervisor checks the options (it never runs one)."""


@attrs.define(eq=False)
class WorkerPool:
    """``workers`` processes, each serving ``options`` on ``host:port``, supervised.

    ``await pool.run()`` runs it until it stops and returns the exit status (see the module
    docstring); :meth:`wait_ready` waits until every worker listens; :meth:`shutdown` drains
    them (what SIGTERM does when ``run(handle_signals=True)``).
    """

    options: ServeOptions
    workers: int = 1
    host: str | None = "127.0.0.1"
    #: 0 picks a free port (read :attr:`bound_port` once ready).
    port: int = 8000
    restart: RestartPolicy = RestartPolicy()
    #: The workers' logging level (default: this process's root logger level).
    log_level: int | None = None

    _stopping: trio.Event = attrs.field(factory=trio.Event, init=False)
    _stop_signal: int = attrs.field(default=signal.SIGTERM, init=False)
    _ready: trio.Event = attrs.field(factory=trio.Event, init=False)
    _done: trio.Event = attrs.field(factory=trio.Event, init=False)
    _exit: int = attrs.field(default=EXIT_OK, init=False)
    _reuse_port: bool = attrs.field(default=True, init=False)
    _bound_port: int | None = attrs.field(default=None, init=False)
    _processes: dict[int, trio.Process] = attrs.field(factory=dict, init=False)
    _ready_ids: set[int] = attrs.field(factory=set, init=False)
    _deaths: deque[float] = attrs.field(factory=deque, init=False)

    # --- what callers read ------------------------------------------------------------------

    @property
    def bound_port(self) -> int:
        """The port every worker listens on (the chosen one with port 0)."""
        if self._bound_port is None:
            raise RuntimeError("the pool has not bound its port yet")
        return self._bound_port

    @property
    def url(self) -> str:
        """Where calls go: ``ws://host:port/path``, or ``http://host:port`` with the front."""
        host = self.host or "0.0.0.0"
        if self.options.answer:
            return f"http://{host}:{self.bound_port}"
        return f"ws://{host}:{self.bound_port}{self.options.path}"

    @property
    def worker_pids(self) -> dict[int, int]:
        """Worker id -> pid of the processes running right now."""
        return {wid: proc.pid for wid, proc in sorted(self._processes.items())}

    async def wait_ready(self) -> bool:
        """Wait until every worker has listened once (``True``), or the pool stopped before
        that (``False``)."""
        async with trio.open_nursery() as nursery:

            async def stop_waiting_when_done() -> None:
                await self._done.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(stop_waiting_when_done)
            await self._ready.wait()
            nursery.cancel_scope.cancel()
        return self._ready.is_set()

    def shutdown(self, signum: int = signal.SIGTERM) -> None:
        """Drain every worker and restart none: forwards ``signum`` (again on a second call,
        which interrupts the drains)."""
        self._stop_signal = signum
        self._stopping.set()
        for proc in self._processes.values():
            if proc.returncode is None:
                proc.send_signal(signum)

    # --- running ---------------------------------------------------------------------------

    async def run(
        self,
        *,
        handle_signals: bool = True,
        on_ready: Callable[[WorkerPool], object] | None = None,
    ) -> int:
        """Run the pool until it stops; returns the exit status (0, 1 or 2, see above).
        ``on_ready`` is called once, when every worker listens.

        Raises :class:`ConfigurationError` before starting anything when the options can
        never work, the port is taken, or ``workers > 1`` where ``SO_REUSEPORT`` is missing.
        """
        reservation = self._prepare()
        try:
            async with trio.open_nursery() as nursery:
                if handle_signals:
                    nursery.start_soon(self._forward_signals)
                if on_ready is not None:
                    nursery.start_soon(self._call_when_ready, on_ready)
                async with trio.open_nursery() as slots:
                    for wid in range(self.workers):
                        slots.start_soon(self._run_slot, wid)
                nursery.cancel_scope.cancel()
        finally:
            self._done.set()
            if reservation is not None:
                reservation.close()
        logger.info("every worker has stopped (exit status %d)", self._exit)
        return self._exit

    async def _call_when_ready(self, on_ready: Callable[[WorkerPool], object]) -> None:
        await self._ready.wait()
        on_ready(self)

    def _prepare(self) -> Reservation | None:
        if self.workers < 1:
            raise ConfigurationError(f"workers must be at least 1, got {self.workers}")
        if os.name != "posix":  # the readiness pipe and process groups are POSIX's
            raise ConfigurationError("worker processes need a POSIX system; serve without them")
        reason = reuseport_unavailable()
        if reason is not None and self.workers > 1:
            raise ConfigurationError(
                f"{self.workers} workers need SO_REUSEPORT to share a port, but {reason}; "
                "run one worker per port behind a load balancer instead"
            )
        if reason is None and self.workers > 1 and not reuseport_balances():
            logger.warning(
                "on %s the kernel may not spread connections over SO_REUSEPORT listeners "
                "evenly: check the workers' call counts under load",
                sys.platform,
            )
        build_server(self.options, _placeholder_app)  # the workers' own check, once, here
        if self.options.resolved_auth_token() is None:
            logging.getLogger("trio_plivo.server").warning(
                "not verifying Plivo signatures (set PLIVO_AUTH_TOKEN): anyone can open a call"
            )
        if reason is not None:
            logger.info("SO_REUSEPORT unavailable (%s): one worker, ordinary listener", reason)
            self._reuse_port = False
            return None
        reservation = reserve(self.host, self.port)
        self._bound_port = reservation.port
        return reservation

    async def _forward_signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                name = signal.Signals(signum).name
                if self._stopping.is_set():
                    logger.warning("%s again: interrupting the workers' drain", name)
                else:
                    logger.info("%s: draining %d worker(s)", name, len(self._processes))
                self.shutdown(signum)

    def _fail(self, status: int) -> None:
        if self._exit == EXIT_OK:
            self._exit = status
        self.shutdown()

    async def _run_slot(self, wid: int) -> None:
        quick_deaths = 0
        policy = self.restart
        max_deaths = policy.max_deaths or max(5, self.workers)
        while not self._stopping.is_set():
            started = trio.current_time()
            pid, status = await self._run_worker(wid)
            if self._stopping.is_set():
                return
            now = trio.current_time()
            if status == CONFIGURATION_EXIT and not self._ready.is_set():
                logger.error("worker %d (pid %d) cannot load its app: stopping", wid, pid)
                self._fail(EXIT_CONFIGURATION)
                return
            self._deaths.append(now)
            while self._deaths and self._deaths[0] < now - policy.window:
                self._deaths.popleft()
            if len(self._deaths) > max_deaths:
                logger.error(
                    "worker %d (pid %d) %s: %d deaths within %.0f s, a crash loop; stopping",
                    *(wid, pid, describe_exit(status), len(self._deaths), policy.window),
                )
                self._fail(EXIT_FAILED)
                return
            quick_deaths = 1 if now - started >= policy.window else quick_deaths + 1
            delay = policy.delay(quick_deaths)
            logger.warning(
                "worker %d (pid %d) %s after %.1f s; restarting in %.1f s",
                *(wid, pid, describe_exit(status), now - started, delay),
            )
            with trio.move_on_after(delay):
                await self._stopping.wait()

    def _spec(self, wid: int, ready_fd: int) -> WorkerSpec:
        level = self.log_level
        if level is None:
            level = logging.getLogger().getEffectiveLevel()
        return WorkerSpec(
            worker_id=wid,
            host=self.host,
            port=self.port if self._bound_port is None else self._bound_port,
            reuse_port=self._reuse_port,
            log_level=level,
            ready_fd=ready_fd,
            options=self.options,
        )

    async def _run_worker(self, wid: int) -> tuple[int, int]:
        """Start worker ``wid`` and wait for it to exit; its (pid, exit status)."""
        read_fd, write_fd = os.pipe()
        try:
            proc = await trio.lowlevel.open_process(
                [sys.executable, "-m", "trio_plivo.workers._worker"],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
                env={**os.environ, WORKER_ID_ENV: str(wid)},
                process_group=0,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._processes[wid] = proc
        if self._stopping.is_set():  # a stop came while it was starting
            proc.send_signal(self._stop_signal)
        assert proc.stdin is not None
        readiness = trio.lowlevel.FdStream(read_fd)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._await_ready, wid, proc, readiness)
                nursery.start_soon(self._kill_when_stuck, wid, proc)
                # The other end stays open while we live: the worker's orphan check. A
                # worker that died at once breaks the pipe; wait() says how it died.
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await proc.stdin.send_all(self._spec(wid, write_fd).to_json())
                await proc.wait()
                nursery.cancel_scope.cancel()
        finally:
            del self._processes[wid]
            self._ready_ids.discard(wid)
            if proc.returncode is None:  # we are being cancelled: leave no orphan
                proc.kill()
                with trio.CancelScope(shield=True):
                    await proc.wait()
            await trio.aclose_forcefully(proc.stdin)
            await trio.aclose_forcefully(readiness)
        assert proc.returncode is not None
        return proc.pid, proc.returncode

    async def _await_ready(
        self, wid: int, proc: trio.Process, readiness: trio.abc.ReceiveStream
    ) -> None:
        line = b""
        while not line.endswith(b"\n"):
            chunk = await readiness.receive_some(64)
            if not chunk:
                return  # it exited first
            line += chunk
        port = _ready_port(line)
        if port is None:
            logger.error("worker %d (pid %d) sent a bad readiness line %r", wid, proc.pid, line)
            return
        if self._bound_port is None:
            self._bound_port = port
        self._ready_ids.add(wid)
        logger.info("worker %d (pid %d) accepting on port %d", wid, proc.pid, port)
        if len(self._ready_ids) == self.workers:
            self._ready.set()

    async def _kill_when_stuck(self, wid: int, proc: trio.Process) -> None:
        await self._stopping.wait()
        timeout = self.restart.stop_timeout
        if timeout is None:
            timeout = self.options.shutdown_grace + 10.0
        await trio.sleep(timeout)
        logger.error(
            "worker %d (pid %d) still running %.0f s after the stop: killing it",
            wid,
            proc.pid,
            timeout,
        )
        if self._exit == EXIT_OK:
            self._exit = EXIT_FAILED
        proc.kill()
