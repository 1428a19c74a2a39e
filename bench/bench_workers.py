"""``serve echo --workers N``: how the kernel spreads calls over the workers, and what a worker
process costs per echoed frame, one worker against two at the same total load.

The supervisor, its workers and the load generator (Node.js, ``bench/loadgen_node.mjs``) all
share the machine's two cores, so by default nothing is pinned; the numbers are separated per
process instead: each worker's CPU is read from ``/proc/<pid>/stat`` over the measured window
and summed, and divided by the frames echoed in that window. The generator's CPU (and the
supervisor's, which idles) is not in the figure. The spread is read from the kernel: the
established connections on the port, by the pid that holds them (``ss -tnp``).

Unpinned, two workers and the generator are three busy processes on two cores: the workers
also pay for being switched out for the generator (cold caches), which one worker with a core
to itself does not. ``--one-core`` separates the processes instead: every worker is pinned to
CPU 0 and the generator to CPU 1, so one worker and two workers do the same work on the same
core and the difference is what being two processes costs.

``python -m bench.bench_workers [--calls 200] [--repeats 3] [--duration 8] [--one-core]``;
``python -m bench workers`` runs one short round. Needs ``node`` (20+) and ``ss``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter

from bench.bench_capacity import start_generator
from bench.loadgen import _cpu_seconds, _free_port, _wait_for_quiet
from trio_plivo.testing._loadtest._report import percentile

_ACCEPTING = re.compile(r"worker (\d+) \(pid (\d+)\) accepting on port")


def _start(workers: int, port: int) -> tuple[subprocess.Popen[str], list[int]]:
    """The supervisor, once all its workers accept; returns it and the workers' pids."""
    command = [sys.executable, "-m", "trio_plivo", "serve", "echo", "--workers", str(workers)]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    pids: dict[int, int] = {}
    deadline = time.monotonic() + 60
    while len(pids) < workers:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"workers did not start: {command}")
        if selector.select(timeout=0.2):
            found = _ACCEPTING.search(proc.stdout.readline())
            if found:
                pids[int(found.group(1))] = int(found.group(2))
    selector.close()
    # Keep the pipe drained: the workers log every call, and a full pipe would stall them.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, list(pids.values())


def _calls_per_pid(port: int) -> Counter[int]:
    """Established connections on ``port``, counted by the pid holding them."""
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return Counter(int(pid) for pid in re.findall(r"pid=(\d+)", out))


def run(
    workers: int,
    calls: int,
    *,
    duration: float,
    one_core: bool = False,
    ramp: float = 3.0,
    settle: float = 2.0,
):
    """One fresh supervisor, one generator run: (µs per echoed frame, calls per worker, p99 s,
    frames lost). ``one_core``: the workers on CPU 0, the generator on CPU 1."""
    port = _free_port()
    proc, pids = _start(workers, port)
    try:
        if one_core:
            for pid in pids:
                os.sched_setaffinity(pid, {0})
        _wait_for_quiet((0, 1), limit=0.05)
        node = start_generator(
            f"ws://127.0.0.1:{port}/stream",
            calls,
            (ramp, settle, duration),
            cpu=1 if one_core else None,
        )
        time.sleep(ramp + settle)
        spread = _calls_per_pid(port)
        before = sum(_cpu_seconds(pid) for pid in pids)
        time.sleep(duration)
        cpu = sum(_cpu_seconds(pid) for pid in pids) - before
        out, _ = node.communicate(timeout=duration + 30)
    finally:
        proc.terminate()
        proc.wait(30)
    result = json.loads(out)
    per_worker = [spread.get(pid, 0) for pid in pids]
    return (
        cpu * 1e6 / max(1, len(result["rtts"])),
        per_worker,
        percentile(result["rtts"], 99),
        result["sent"] - result["received"],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_workers")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument(
        "--one-core", action="store_true", help="workers on CPU 0, the generator on CPU 1"
    )
    args = parser.parse_args(argv if argv is not None else [])
    if shutil.which("node") is None or shutil.which("ss") is None:
        print("bench_workers needs node and ss; skipped")
        return
    short = argv is None
    calls = args.calls or (100 if short else 200)
    repeats = args.repeats or (1 if short else 3)
    duration = args.duration or (4.0 if short else 8.0)
    costs: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(repeats):
        for workers in (1, 2):
            cost, per_worker, p99, lost = run(
                workers, calls, duration=duration, one_core=args.one_core
            )
            costs[workers].append(cost)
            share = ", ".join(f"{n}" for n in per_worker)
            print(
                f"  {workers} worker(s), {calls} calls #{round_ + 1}: {cost:5.1f} µs/frame "
                f"(all workers)  calls per worker [{share}]  p99 {p99 * 1e3:6.1f} ms  lost {lost}",
                flush=True,
            )
    one, two = statistics.median(costs[1]), statistics.median(costs[2])
    print(
        f"\nworker CPU per echoed frame at {calls} calls"
        f"{' (all workers on CPU 0, generator on CPU 1)' if args.one_core else ''}: 1 worker {one:.1f} µs "
        f"({min(costs[1]):.1f}-{max(costs[1]):.1f}), 2 workers {two:.1f} µs "
        f"({min(costs[2]):.1f}-{max(costs[2]):.1f}): {two / one - 1:+.0%}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
