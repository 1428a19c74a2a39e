"""Load generator: simulated Plivo callers against a WebSocket server on 127.0.0.1.

Three modes (importable functions, and a CLI)::

    python -m bench.loadgen realtime --url ws://127.0.0.1:8765/ --calls 300 --duration 5
    python -m bench.loadgen flood --url ws://127.0.0.1:8765/ --connections 8 --duration 4
    python -m bench.loadgen sweep --server "python -m bench.ws_baselines sansio --port {port}"
    python -m bench.loadgen baselines          # sweep both bench.ws_baselines servers

*Real time*: every call opens a WebSocket (our driver, client role), sends a Plivo ``start``
then one µ-law 8 kHz 20 ms ``media`` frame every 20 ms (protocols.md §1.2). The server must
answer each ``media`` with the same message or with a ``playAudio`` carrying the same
payload; the first 6 payload bytes are a per-call frame counter and call tag, so every reply
is matched to its frame. Reported: echo round trip p50/p99/max, lost frames, and the
generator's own schedule lateness p99 -- when that is high the generator, not the server,
was the bottleneck and the step does not count.

*Flood*: K connections keep a window of frames in flight; reports echoes per second.

*Sweep*: starts a server command as a subprocess (pinned to core 0 with ``taskset`` when
available, the generator's workers on core 1), steps the call count up and reports the most
concurrent real-time calls with p99 <= 200 ms and no lost frames, p99 at 300 calls, flood
echoes/s and server CPU microseconds per echoed frame (from /proc/<pid>/stat).

Calls are split over ``workers`` processes (each its own ``trio.run``) and results merged.
Only ever point this at 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import selectors
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import trio

from trio_plivo.testing._loadtest import media_message, pool_map, run_loadtest, split
from trio_plivo.testing._loadtest._report import LoadtestResult
from trio_plivo.ws import WebSocket, connect_websocket

P99_LIMIT = 0.200


# ------------------------------------------------------------------ results


@dataclass
class RealtimeResult(LoadtestResult):
    """Merged outcome of a real-time run (the package's result plus sweep verdicts)."""

    foreign_share: float = 0.0  # share of a benchmark core other processes used (sweep only)

    @property
    def trusted(self) -> bool:
        """The generator kept its schedule and nothing else ran on the benchmark cores."""
        return self.generator_ok and self.foreign_share <= FOREIGN_LIMIT

    @property
    def passed(self) -> bool:
        return (
            self.trusted
            and self.sent - self.received == 0
            and self.connect_errors == 0
            and self.mismatched == 0
            and self.rtt(99) <= P99_LIMIT
        )

    def summary(self) -> str:
        return (
            f"{self.calls:5d} calls: rtt p50 {self.rtt(50) * 1e3:7.1f} ms  "
            f"p99 {self.rtt(99) * 1e3:7.1f} ms  max {self.rtt(100) * 1e3:7.1f} ms  "
            f"lost {self.sent - self.received}/{self.sent}  connect errors {self.connect_errors}  "
            f"gen lateness p99 {self.lateness_p99 * 1e3:5.1f} ms"
            + ("" if self.generator_ok else "  [GENERATOR OVERLOADED]")
            + (
                f"  [OTHER PROCESSES TOOK {self.foreign_share:.0%} OF A CORE]"
                if self.foreign_share > FOREIGN_LIMIT
                else ""
            )
        )


@dataclass
class _WorkerReport:
    echoes: int = 0
    window_echoes: int = 0  # after warm-up


@dataclass(frozen=True)
class _FloodJob:
    url: str
    connections: int
    window: int
    duration: float
    warmup: float
    cpus: frozenset[int] | None


# ---------------------------------------------------------------- real time


def run_realtime(
    url: str,
    calls: int,
    *,
    duration: float = 4.0,
    ramp: float = 1.0,
    settle: float = 1.0,
    grace: float = 1.0,
    workers: int = 1,
    cpus: set[int] | None = None,
) -> RealtimeResult:
    """``calls`` simulated real-time callers (:func:`trio_plivo.testing._loadtest.run_loadtest`
    without the DTMF, so bare echo servers compare): connections spread over ``ramp`` s, then
    ``settle`` s unmeasured, then ``duration`` s measured (loss is counted throughout)."""
    result = run_loadtest(
        url,
        calls,
        duration=duration,
        ramp=ramp,
        settle=settle,
        grace=grace,
        processes=workers,
        dtmf=None,
        cpus=cpus,
    )
    return RealtimeResult(
        result.url, result.calls, result.duration, result.report, result.processes, result.ramp
    )


# -------------------------------------------------------------------- flood


@dataclass
class FloodResult:
    connections: int
    seconds: float
    echoes: int  # all echoes, warm-up included (for CPU per echo)
    window_echoes: int  # echoes after the warm-up
    foreign_share: float = 0.0  # share of a benchmark core other processes used (sweep only)

    @property
    def per_second(self) -> float:
        return self.window_echoes / self.seconds


async def _flood_connection(job: _FloodJob, tag: int, report: _WorkerReport) -> None:
    ws: WebSocket = await connect_websocket(job.url)
    message = media_message(str(uuid.uuid4()), 0, tag, 0)
    half = max(1, job.window // 2)
    start = trio.current_time()
    measure_from = start + job.warmup
    try:
        with trio.move_on_at(start + job.warmup + job.duration):
            await ws.send_messages([message] * job.window)
            pending = 0
            while True:
                await ws.receive_message()
                report.echoes += 1
                if trio.current_time() >= measure_from:
                    report.window_echoes += 1
                pending += 1
                if pending == half:
                    # Top the window up in one write, not one write per echo.
                    await ws.send_messages([message] * half)
                    pending = 0
    finally:
        with trio.move_on_after(2) as scope:
            scope.shield = True
            await ws.aclose()


async def _flood_worker(job: _FloodJob) -> _WorkerReport:
    report = _WorkerReport()
    async with trio.open_nursery() as nursery:
        for i in range(job.connections):
            nursery.start_soon(_flood_connection, job, i, report)
    return report


def _run_flood_job(job: _FloodJob) -> _WorkerReport:
    if job.cpus:
        os.sched_setaffinity(0, job.cpus)
    return trio.run(_flood_worker, job)


def run_flood(
    url: str,
    *,
    connections: int = 8,
    window: int = 32,
    duration: float = 4.0,
    warmup: float = 0.5,
    workers: int = 1,
    cpus: set[int] | None = None,
) -> FloodResult:
    """Maximum echo rate: ``connections`` each keeping ``window`` frames in flight."""
    frozen = frozenset(cpus) if cpus else None
    jobs = [
        _FloodJob(url, count, window, duration, warmup, frozen)
        for _, count in split(connections, workers)
        if count
    ]
    reports = pool_map(_run_flood_job, jobs)
    return FloodResult(
        connections,
        duration,
        sum(r.echoes for r in reports),
        sum(r.window_echoes for r in reports),
    )


# -------------------------------------------------------------------- sweep


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux only)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _core_busy_seconds() -> dict[int, float]:
    """Busy (non-idle) CPU seconds per core since boot, from /proc/stat."""
    busy: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                v = [int(x) for x in values]
                busy[int(name[3:])] = (sum(v) - v[3] - v[4]) / tick  # minus idle, iowait
    return busy


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the generator workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class _Meter:
    """Server CPU, and CPU that *other* processes took on the two benchmark cores: a step
    run while someone else used them is flagged rather than silently reported."""

    server_pid: int
    server_core: int | None
    generator_core: int | None

    def __enter__(self) -> _Meter:
        self._wall = time.monotonic()
        self._server = _cpu_seconds(self.server_pid)
        self._own = _own_cpu_seconds()
        self._cores = _core_busy_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.monotonic() - self._wall
        self.server_seconds = _cpu_seconds(self.server_pid) - self._server
        own = _own_cpu_seconds() - self._own
        cores = _core_busy_seconds()
        foreign = 0.0
        if self.server_core is not None and self.generator_core is not None:
            used = {c: cores[c] - self._cores[c] for c in (self.server_core, self.generator_core)}
            foreign = max(
                used[self.server_core] - self.server_seconds, used[self.generator_core] - own
            )
        #: Largest share of either benchmark core used by other processes during the run.
        self.foreign_share = max(0.0, foreign / wall)


def _wait_for_quiet(cores: Sequence[int], *, limit: float = 0.10, patience: float = 30.0) -> None:
    """On a shared machine, wait (up to ``patience`` s) for a second in which ``cores`` were
    each at most ``limit`` busy, so a step does not start on top of someone's test run."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        before = _core_busy_seconds()
        time.sleep(1.0)
        after = _core_busy_seconds()
        if all(after[c] - before[c] <= limit for c in cores):
            return


FOREIGN_LIMIT = 0.15  # other processes may take at most 15 % of a benchmark core (jiffy noise ~5 %)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(command: str, *, pin_cpu: int | None = 0) -> Iterator[tuple[str, int]]:
    """Start ``command`` (``{port}`` replaced by a free port), yield (url, pid) once it prints
    ``listening on ws://...`` (or ``wss://``) or accepts TCP, stop it on exit."""
    port = _free_port()
    argv = [part.replace("{port}", str(port)) for part in shlex.split(command)]
    if argv and argv[0] == "python":
        argv[0] = sys.executable
    if pin_cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(pin_cpu), *argv]  # taskset execs: same pid
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    url = f"ws://127.0.0.1:{port}/"
    try:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}: {argv}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not get ready: {argv}")
            if selector.select(timeout=0.1):
                line = proc.stdout.readline()
                found = re.search(r"wss?://\S+", line)
                if found and "listening" in line:
                    url = found.group(0)
                    break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
        selector.close()
        # Keep the pipe drained so a chatty server never blocks on a full pipe.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class SweepReport:
    label: str
    steps: list[tuple[RealtimeResult, float]]  # result, server CPU µs per echoed frame
    flood: FloodResult | None
    flood_cpu_us: float

    @property
    def max_calls(self) -> int:
        """The most calls that passed before the first step that did not."""
        best = 0
        for result, _ in self.steps:
            if not result.passed:
                break
            best = result.calls
        return best

    @property
    def generator_limited(self) -> bool:
        """Whether the sweep ended on an untrusted step (the generator fell behind, or other
        processes used the cores): the server's real limit may be higher than
        :attr:`max_calls`."""
        failed = [r for r, _ in self.steps if not r.passed]
        return bool(failed) and not failed[0].trusted

    def p99_at(self, calls: int) -> float | None:
        for result, _ in self.steps:
            if result.calls == calls:
                return result.rtt(99)
        return None

    def summary(self) -> str:
        p99 = self.p99_at(300)
        lines = [f"== {self.label}"]
        lines += [
            f"  {r.summary()}  server {cpu:5.1f} µs/frame = {cpu * r.calls / 200:3.0f}% of a core"
            for r, cpu in self.steps
        ]
        lines.append(
            f"  max real-time calls (p99 <= 200 ms, no loss): {self.max_calls}"
            f"{' (then untrusted: generator or busy machine)' if self.generator_limited else ''}; "
            f"p99 at 300 calls: {'n/a' if p99 is None else f'{p99 * 1e3:.1f} ms'}"
        )
        passing = [cpu for r, cpu in self.steps if r.passed]
        if passing:
            # 50 frames/s per call: what one core could echo at the last passing step's cost.
            lines.append(f"  projected from CPU cost: ~{1e6 / (passing[-1] * 50):.0f} calls/core")
        if self.flood is not None:
            lines.append(
                f"  flood: {self.flood.per_second:,.0f} echoes/s over "
                f"{self.flood.connections} connections; server {self.flood_cpu_us:.1f} µs/echo"
                + (
                    f"  [OTHER PROCESSES TOOK {self.flood.foreign_share:.0%} OF A CORE]"
                    if self.flood.foreign_share > FOREIGN_LIMIT
                    else ""
                )
            )
        return "\n".join(lines)


def sweep(
    server_command: str,
    *,
    label: str = "",
    step: int = 100,
    cap: int = 1000,
    duration: float = 4.0,
    ramp: float = 1.0,
    workers: int = 1,
    flood_seconds: float = 4.0,
    pin: bool = True,
    retries: int = 2,
    log: bool = True,
) -> SweepReport:
    """Step the number of real-time calls against ``server_command`` until one fails (or
    ``cap``), always including 300; then one flood run. A step whose generator fell behind
    its schedule is run again up to ``retries`` times. See the module docstring."""
    can_pin = pin and shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) > 1
    generator_cpus = {1} if can_pin else None
    steps: list[tuple[RealtimeResult, float]] = []
    with running_server(server_command, pin_cpu=0 if can_pin else None) as (url, pid):
        calls = step
        while calls <= cap:
            for attempt in range(1 + retries):
                if can_pin:
                    _wait_for_quiet((0, 1))
                with _Meter(pid, 0 if can_pin else None, 1 if can_pin else None) as meter:
                    result = run_realtime(
                        url,
                        calls,
                        duration=duration,
                        ramp=ramp,
                        workers=workers,
                        cpus=generator_cpus,
                    )
                result.foreign_share = meter.foreign_share
                cpu_us = meter.server_seconds * 1e6 / max(1, result.received)
                if log:
                    print(f"  {result.summary()}  server {cpu_us:5.1f} µs/frame", flush=True)
                if result.generator_ok and result.foreign_share <= FOREIGN_LIMIT:
                    break
                if log and attempt < retries:
                    print("  generator late or cores shared with other processes: again")
            steps.append((result, cpu_us))
            if not result.passed and calls >= 300:
                break
            calls += step
        flood = None
        flood_cpu = float("nan")
        if flood_seconds > 0:
            if can_pin:
                _wait_for_quiet((0, 1))
            with _Meter(pid, 0 if can_pin else None, 1 if can_pin else None) as meter:
                flood = run_flood(url, duration=flood_seconds, workers=workers, cpus=generator_cpus)
            flood.foreign_share = meter.foreign_share
            flood_cpu = meter.server_seconds * 1e6 / max(1, flood.echoes)
            if log:
                print(f"  flood {flood.per_second:,.0f} echoes/s", flush=True)
    return SweepReport(label or server_command, steps, flood, flood_cpu)


BASELINES = {
    "trio-websocket": "python -m bench.ws_baselines trio-websocket --port {port}",
    "sansio": "python -m bench.ws_baselines sansio --port {port}",
}


# ---------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loadgen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    rt = sub.add_parser("realtime", help="N real-time callers")
    rt.add_argument("--url", required=True)
    rt.add_argument("--calls", type=int, default=100)
    rt.add_argument("--duration", type=float, default=4.0)
    rt.add_argument("--ramp", type=float, default=1.0)
    rt.add_argument("--workers", type=int, default=1)
    fl = sub.add_parser("flood", help="maximum echoes per second")
    fl.add_argument("--url", required=True)
    fl.add_argument("--connections", type=int, default=8)
    fl.add_argument("--window", type=int, default=32)
    fl.add_argument("--duration", type=float, default=4.0)
    fl.add_argument("--workers", type=int, default=1)
    sw = sub.add_parser("sweep", help="step call counts against a server command")
    sw.add_argument("--server", required=True, help="command line; {port} is replaced")
    sw.add_argument("--label", default="")
    bl = sub.add_parser("baselines", help="sweep every bench.ws_baselines server")
    bl.add_argument("names", nargs="*", help=f"any of {sorted(BASELINES)} (default: all)")
    for p in (sw, bl):
        p.add_argument("--step", type=int, default=100)
        p.add_argument("--cap", type=int, default=1000)
        p.add_argument("--duration", type=float, default=4.0)
        p.add_argument("--workers", type=int, default=1)
        p.add_argument("--flood-seconds", type=float, default=4.0)
        p.add_argument("--no-pin", action="store_true")
    args = parser.parse_args(argv)
    if args.mode == "baselines" and set(args.names) - set(BASELINES):
        parser.error(f"unknown baseline(s); choose from {sorted(BASELINES)}")

    if args.mode == "realtime":
        result = run_realtime(
            args.url, args.calls, duration=args.duration, ramp=args.ramp, workers=args.workers
        )
        print(result.summary())
    elif args.mode == "flood":
        flood = run_flood(
            args.url,
            connections=args.connections,
            window=args.window,
            duration=args.duration,
            workers=args.workers,
        )
        print(f"{flood.per_second:,.0f} echoes/s over {flood.connections} connections")
    else:
        commands = (
            {args.label or args.server: args.server}
            if args.mode == "sweep"
            else {name: BASELINES[name] for name in (args.names or BASELINES)}
        )
        reports = []
        for label, command in commands.items():
            print(f"== {label}: {command}", flush=True)
            reports.append(
                sweep(
                    command,
                    label=label,
                    step=args.step,
                    cap=args.cap,
                    duration=args.duration,
                    workers=args.workers,
                    flood_seconds=args.flood_seconds,
                    pin=not args.no_pin,
                )
            )
        print()
        for report in reports:
            print(report.summary())


if __name__ == "__main__":
    main()
