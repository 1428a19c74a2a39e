"""What one core holds: real-time echo calls against servers pinned to one core, driven by an
independent generator (Node.js, ``bench/loadgen_node.mjs``) on the other core.

One Python generator core keeps its schedule up to about 350 calls, so past that it, not the
server, sets the latency; the Node generator holds 450 calls on one core with a lateness p99 of
a few ms. Each point (server x call count) runs ``repeats`` times, each on a fresh server,
alternating servers within a round so drift in the machine hits them all alike; reported are
the median and the spread (min-max) of p50, p99 and max echo round trip, lost frames, the
server's CPU per echoed frame and that cost against the bare ``trio_plivo.ws`` echo measured
in the same run. ``sansio-3task`` is that echo with the call's three tasks and two bounded
channels and none of its work: the floor of the design. A server that saturates its core
reads as one core divided by the frame rate (66.7 µs at 300 calls): compare costs at a load
no server saturates.

Quiet machine: before each point the two cores must be idle, and during it the share of either
core used by other processes is measured (``other%``); points where it exceeded 5 % are marked.

``python -m bench.bench_capacity [--calls 300 450] [--repeats 3] [--duration 10]
[--server LABEL=COMMAND ...]``. ``python -m bench capacity`` runs a short version. Needs
``node`` (20+) and two CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import _core_busy_seconds, _cpu_seconds, _wait_for_quiet, running_server
from trio_plivo.testing._loadtest._report import percentile

NODE_GENERATOR = Path(__file__).with_name("loadgen_node.mjs")
SERVERS = {
    "sansio": "python -m bench.ws_baselines sansio --port {port}",
    # The design's floor: the bare echo with the call's three tasks and none of its work.
    "sansio-3task": "python -m bench.ws_baselines sansio-3task --port {port}",
    "serve echo": "python -m trio_plivo serve echo --port {port}",
}
SERVER_CORE, GENERATOR_CORE = 0, 1
QUIET_LIMIT = 0.05


@dataclass
class Point:
    """One run of one server at one call count."""

    rtts: list[float]
    lost: int
    sent: int
    lateness_p99: float
    cpu_us: float  # server CPU per echoed frame in the measured window
    other_share: float  # largest share of either core other processes used
    errors: dict[str, int] = field(default_factory=dict)

    def rtt(self, q: float) -> float:
        return percentile(self.rtts, q)


def start_generator(
    url: str,
    calls: int,
    window: tuple[float, float, float],
    *,
    cpu: int | None = None,
    cafile: str | None = None,
) -> subprocess.Popen[str]:
    """The Node generator against ``url``: ``window`` is (ramp, settle, measured) seconds; on
    ``cpu`` when given; ``cafile``: the CA a ``wss://`` server's certificate is verified
    against. Its JSON report is on stdout."""
    ramp, settle, duration = window
    pin = ("taskset", "-c", str(cpu)) if cpu is not None else ()
    return subprocess.Popen(
        [
            *pin,
            *("node", "--experimental-websocket", str(NODE_GENERATOR)),
            *("--url", url, "--calls", str(calls), "--duration", str(duration)),
            *("--ramp", str(ramp), "--settle", str(settle)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": cafile} if cafile else None,
    )


def run_point(
    command: str,
    calls: int,
    *,
    duration: float,
    ramp: float,
    settle: float,
    cafile: str | None = None,
) -> Point:
    """One fresh server, one Node generator run against it (``cafile``: the CA a ``wss://``
    server's certificate is verified against)."""
    with running_server(command, pin_cpu=SERVER_CORE) as (url, pid):
        if not url.rstrip("/").endswith("/stream"):
            url = url.rstrip("/") + "/stream"
        _wait_for_quiet((SERVER_CORE, GENERATOR_CORE), limit=QUIET_LIMIT)
        node = start_generator(
            url, calls, (ramp, settle, duration), cpu=GENERATOR_CORE, cafile=cafile
        )
        time.sleep(ramp + settle)  # the window starts then (on the generator's clock too)
        wall = time.monotonic()
        server_before, node_before = _cpu_seconds(pid), _cpu_seconds(node.pid)
        cores_before = _core_busy_seconds()
        time.sleep(duration)
        wall = time.monotonic() - wall
        server_cpu = _cpu_seconds(pid) - server_before
        node_cpu = _cpu_seconds(node.pid) - node_before
        cores = _core_busy_seconds()
        out, _ = node.communicate(timeout=duration + 30)
    result = json.loads(out)
    other = max(
        cores[SERVER_CORE] - cores_before[SERVER_CORE] - server_cpu,
        cores[GENERATOR_CORE] - cores_before[GENERATOR_CORE] - node_cpu,
    )
    return Point(
        rtts=result["rtts"],
        lost=result["sent"] - result["received"],
        sent=result["sent"],
        lateness_p99=percentile(result["lateness"], 99) if result["lateness"] else 0.0,
        cpu_us=server_cpu * 1e6 / max(1, len(result["rtts"])),
        other_share=max(0.0, other / wall),
        errors=result["errors"],
    )


def _spread(values: list[float], unit: float = 1.0, digits: int = 1) -> str:
    scaled = [v * unit for v in values]
    return (
        f"{statistics.median(scaled):.{digits}f} "
        f"({min(scaled):.{digits}f}-{max(scaled):.{digits}f})"
    )


def measure(
    servers: dict[str, str],
    calls: list[int],
    *,
    repeats: int,
    duration: float,
    ramp: float = 3.0,
    settle: float = 2.0,
) -> dict[tuple[str, int], list[Point]]:
    """Every server at every call count, ``repeats`` rounds; prints each run as it ends."""
    results: dict[tuple[str, int], list[Point]] = {}
    for count in calls:
        for round_ in range(repeats):
            for label, command in servers.items():
                point = run_point(command, count, duration=duration, ramp=ramp, settle=settle)
                results.setdefault((label, count), []).append(point)
                print(
                    f"  {label:<16} {count:4d} calls #{round_ + 1}: "
                    f"p50 {point.rtt(50) * 1e3:7.1f}  p99 {point.rtt(99) * 1e3:7.1f}  "
                    f"max {point.rtt(100) * 1e3:7.1f} ms  lost {point.lost}/{point.sent}  "
                    f"server {point.cpu_us:5.1f} µs/frame  gen late p99 "
                    f"{point.lateness_p99 * 1e3:4.1f} ms  other {point.other_share:4.0%}"
                    + (f"  errors {point.errors}" if point.errors else ""),
                    flush=True,
                )
    return results


def report(results: dict[tuple[str, int], list[Point]], floor: str = "sansio") -> None:
    """The table: median (min-max) of each figure over the repeats."""
    print(
        f"\n{'server':<16} {'calls':>5}  {'p50 ms':>17}  {'p99 ms':>19}  {'max ms':>19}  "
        f"{'lost':>6}  {'µs/frame':>17}  {'vs ' + floor:>10}  other% max"
    )
    for (label, count), points in results.items():
        base = results.get((floor, count))
        ratio = (
            f"{statistics.median(p.cpu_us for p in points) / statistics.median(p.cpu_us for p in base):.2f}x"
            if base
            else "-"
        )
        noisy = max(p.other_share for p in points)
        print(
            f"{label:<16} {count:5d}  {_spread([p.rtt(50) for p in points], 1e3):>17}  "
            f"{_spread([p.rtt(99) for p in points], 1e3):>19}  "
            f"{_spread([p.rtt(100) for p in points], 1e3):>19}  "
            f"{max(p.lost for p in points):6d}  {_spread([p.cpu_us for p in points]):>17}  "
            f"{ratio:>10}  {noisy:4.0%}{'  NOT QUIET' if noisy > QUIET_LIMIT else ''}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_capacity")
    parser.add_argument("--calls", type=int, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument(
        "--server", action="append", default=[], help="LABEL=COMMAND ({port} is replaced)"
    )
    args = parser.parse_args(argv if argv is not None else [])
    if shutil.which("node") is None or shutil.which("taskset") is None:
        print("bench_capacity needs node and taskset; skipped")
        return
    servers = dict(SERVERS)
    servers.update(dict(spec.split("=", 1) for spec in args.server))
    short = argv is None  # from `python -m bench`: one quick round
    results = measure(
        servers,
        args.calls or ([300] if short else [300, 450]),
        repeats=args.repeats or (1 if short else 3),
        duration=args.duration or (5.0 if short else 10.0),
    )
    report(results)


if __name__ == "__main__":
    main(sys.argv[1:])
