"""The call machinery under load: the built-in ``echo`` app against two bare echo servers.

All three serve the same traffic (``bench/loadgen.py``: real-time simulated Plivo callers,
20 ms µ-law ``media`` frames, server pinned to core 0, generator on core 1) in the same run:

* ``trio-websocket``: a bare Trio + trio-websocket echo (the interoperability transport);
* ``sansio``: a bare echo on our WebSocket driver (the floor for any app on it);
* ``echo app``: ``trio-plivo serve echo`` -- the full path: parse, inbound queue, the app task,
  the paced playback queue, ``playAudio`` encoding, the sender.

Reported per server: the most concurrent real-time calls with p99 round trip <= 200 ms and
no lost frames, p99 at each step, server CPU µs per echoed frame, and that cost as a ratio of
the ``sansio`` floor. On a 2-core machine the generator (one core) falls behind at about
300-400 calls; steps where it did are flagged, never counted as passes.
"""

from __future__ import annotations

import sys

from bench.loadgen import BASELINES, SweepReport, sweep

SERVERS = {
    **BASELINES,
    "echo app": f"{sys.executable} -m trio_plivo serve echo --port {{port}}",
}


def main() -> dict[str, SweepReport]:
    reports = {}
    for label, command in SERVERS.items():
        reports[label] = sweep(
            command,
            label=label,
            step=100,
            cap=300,
            duration=4.0,
            retries=1,
            flood_seconds=3.0 if label != "echo app" else 0.0,  # echo is paced: no flood
            log=False,
        )
        print(reports[label].summary(), flush=True)
    floor = _cost(reports["sansio"])
    print("\nserver CPU per echoed frame (lowest trusted step), and against the sansio floor:")
    for label, report in reports.items():
        cost = _cost(report)
        print(
            f"  {label:<15} {cost:6.1f} µs  {cost / floor:4.2f}x  ~{1e6 / (cost * 50):.0f} calls/core"
        )
    return reports


def _cost(report: SweepReport) -> float:
    trusted = [cpu for result, cpu in report.steps if result.trusted]
    return min(trusted) if trusted else min(cpu for _, cpu in report.steps)


if __name__ == "__main__":
    main()
