"""The echo app inside an ASGI server against the native server, in the same run.

The same traffic (``bench/loadgen.py``: real-time simulated Plivo callers, 20 ms µ-law
``media`` frames, server pinned to core 0, generator on core 1) against:

* ``native``: ``trio-plivo serve echo`` -- our WebSocket driver on Trio streams;
* ``asgi app``: the same echo app through :mod:`trio_plivo.asgi` (``StreamASGIApp``) served
  alone by Hypercorn's Trio worker (``bench/asgi_echo_server.py``): wsproto, Hypercorn's
  per-connection tasks and one ASGI event dict per frame each way;
* ``asgi starlette``: the same, as a Starlette WebSocket route calling
  ``serve_asgi_websocket`` (Starlette's receive/send wrappers on top).

Reported: server CPU µs per echoed frame at each call count, and each ASGI path's cost as a
ratio of the native server's at the same count (the README quotes it). Steps where the
generator fell behind or other processes used the cores are flagged ``untrusted``.

    python -m bench.bench_asgi                          # 40 and 80 calls, 4 s each
    python -m bench.bench_asgi --calls 20 --duration 2  # a smoke run
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench.loadgen import SweepReport, sweep

SERVERS = {
    "native": f"{sys.executable} -m trio_plivo serve echo --port {{port}}",
    "asgi app": f"{sys.executable} -m bench.asgi_echo_server --port {{port}}",
    "asgi starlette": f"{sys.executable} -m bench.asgi_echo_server --port {{port}} --via starlette",
}


def main(calls: Sequence[int] = (40, 80), duration: float = 4.0) -> dict[str, SweepReport]:
    """Sweep each server over ``calls`` (evenly spaced counts) and print µs/frame and ratios."""
    step = calls[0]
    cap = calls[-1]
    reports = {}
    for label, command in SERVERS.items():
        reports[label] = sweep(
            command,
            label=label,
            step=step,
            cap=cap,
            duration=duration,
            retries=1,
            flood_seconds=0.0,  # echo is paced: no flood
            log=False,
        )
        print(reports[label].summary(), flush=True)
    native = {result.calls: cpu for result, cpu in reports["native"].steps}
    print("\nserver CPU per echoed frame, and against the native server at the same call count:")
    for label, report in reports.items():
        for result, cpu in report.steps:
            ratio = cpu / native[result.calls] if result.calls in native else float("nan")
            flag = "" if result.trusted else "  (untrusted: generator late or cores shared)"
            if result.received == 0:
                flag = "  (no frame echoed: the server failed)"
            elif result.sent > result.received:
                # A saturated server's CPU is spread over the frames it managed to echo.
                flag = "  (saturated: frames lost, the cost is not comparable)"
            print(f"  {label:<15} {result.calls:4d} calls {cpu:6.1f} µs/frame  {ratio:4.2f}x{flag}")
    return reports


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="ASGI (Hypercorn) vs native per-frame cost")
    parser.add_argument("--calls", type=int, nargs="+", default=[40, 80])
    parser.add_argument("--duration", type=float, default=4.0)
    args = parser.parse_args()
    main(args.calls, args.duration)
