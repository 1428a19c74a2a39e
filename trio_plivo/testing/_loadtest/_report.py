"""Load-test results: per-worker raw measurements, merging, statistics, text and JSON output
(the plot is ``_plot.py``).

Pure functions and plain data only, so worker processes can pickle their
:class:`WorkerReport` back to the parent.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "GAP_SILENCE",
    "LATENESS_LIMIT",
    "LoadtestResult",
    "WorkerReport",
    "audible_gaps",
    "merge_reports",
    "percentile",
]

FRAME_SECONDS = 0.02
#: A pause at least this long between received frames is a silence, not an audible gap.
GAP_SILENCE = 0.5
#: Generator schedule lateness p99 above this: the generator, not the server, fell behind.
LATENESS_LIMIT = 0.050

FloatArray = npt.NDArray[np.float64]


def percentile(values: Sequence[float] | FloatArray, q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``; NaN when there are none."""
    array = np.asarray(values, dtype=np.float64)
    return float(np.percentile(array, q)) if array.size else math.nan


def audible_gaps(
    receive_times: Sequence[float] | FloatArray,
    *,
    frame: float = FRAME_SECONDS,
    silence: float = GAP_SILENCE,
) -> list[float]:
    """Audible gaps of one call: for each pair of consecutive received audio frames, the time
    between them minus one frame (``frame`` s), floored at 0. Pauses of ``silence`` s or more
    are the app being quiet on purpose and are left out."""
    times = np.asarray(receive_times, dtype=np.float64)
    if times.size < 2:
        return []
    deltas = np.diff(times)
    deltas = deltas[deltas < silence]
    return [float(x) for x in np.maximum(deltas - frame, 0.0)]


@dataclass
class WorkerReport:
    """Raw measurements of one worker (one ``trio.run``); all times in seconds."""

    calls: int = 0
    connected: int = 0
    calls_ok: int = 0
    sent: int = 0
    received: int = 0
    rtts: list[float] = field(default_factory=list)  # echo latency, frames sent at full load
    lateness: list[float] = field(default_factory=list)  # generator schedule lateness
    gaps: list[float] = field(default_factory=list)  # audible gaps, all calls
    first_audio: list[float] = field(default_factory=list)  # start sent -> first playAudio
    checkpoints: list[float] = field(default_factory=list)  # checkpoint received -> ack sent
    connects: list[float] = field(default_factory=list)  # planned connect -> handshake done
    errors: Counter[str] = field(default_factory=Counter)
    # Barge-in (_bargein.py): calls that pressed the keys, of them those whose clear never
    # came, key press -> clear received, stale audio per echoing call, marks in flight.
    barge_ins: int = 0
    clears_missing: int = 0
    clear_reactions: list[float] = field(default_factory=list)
    stale: list[float] = field(default_factory=list)
    barge_in_marks: Counter[str] = field(default_factory=Counter)  # played/cleared/hanging
    # Live counters for the progress display (updated on the hot path, cheap ints).
    live_sent: int = 0
    live_received: int = 0


def merge_reports(reports: Iterable[WorkerReport]) -> WorkerReport:
    """One report holding every worker's measurements (counts summed, samples joined)."""
    merged = WorkerReport()
    for r in reports:
        merged.calls += r.calls
        merged.connected += r.connected
        merged.calls_ok += r.calls_ok
        merged.sent += r.sent
        merged.received += r.received
        merged.rtts += r.rtts
        merged.lateness += r.lateness
        merged.gaps += r.gaps
        merged.first_audio += r.first_audio
        merged.checkpoints += r.checkpoints
        merged.connects += r.connects
        merged.errors.update(r.errors)
        merged.barge_ins += r.barge_ins
        merged.clears_missing += r.clears_missing
        merged.clear_reactions += r.clear_reactions
        merged.stale += r.stale
        merged.barge_in_marks.update(r.barge_in_marks)
        merged.live_sent += r.live_sent
        merged.live_received += r.live_received
    return merged


def _ms(value: float) -> float | None:
    return None if math.isnan(value) else round(value * 1e3, 3)


def _stats(values: FloatArray, qs: Sequence[tuple[str, float]]) -> dict[str, Any] | None:
    if not values.size:
        return None
    out: dict[str, Any] = {name: _ms(percentile(values, q)) for name, q in qs}
    out["count"] = int(values.size)
    return out


def _array(values: Sequence[float]) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


@dataclass
class LoadtestResult:
    """Merged outcome of a load test. ``to_dict`` is the ``--json`` schema (README)."""

    url: str
    calls: int
    duration: float
    report: WorkerReport = field(repr=False)
    processes: int = 1
    ramp: float = 1.0
    provider: str = "plivo"
    #: The callers pressed a key mid-call (not with ``dtmf=None``, nor for KooKoo, which has
    #: no DTMF events): checkpoint round trips were measured.
    key_presses: bool = True
    #: Seconds into each call's audio of the barge-in key presses (``_bargein.py``);
    #: ``None``: no barge-in (turned off, or KooKoo, which has no DTMF events).
    barge_in_at: float | None = None

    # --- the numbers bench/loadgen.py relies on --------------------------------------------

    @property
    def rtts(self) -> FloatArray:
        return _array(self.report.rtts)

    @property
    def lateness(self) -> FloatArray:
        return _array(self.report.lateness)

    @property
    def sent(self) -> int:
        return self.report.sent

    @property
    def received(self) -> int:
        return self.report.received

    @property
    def lost(self) -> int:
        """Frames sent that never came back (meaningful when the app echoes)."""
        return self.sent - self.received if self.echoes else 0

    @property
    def echoes(self) -> bool:
        """Whether the app echoed anything back (latency and loss are only defined then)."""
        return self.received > 0

    @property
    def connect_errors(self) -> int:
        return self.report.errors["connect"]

    @property
    def mismatched(self) -> int:
        return self.report.errors["mismatched"]

    def rtt(self, q: float) -> float:
        return percentile(self.report.rtts, q)

    @property
    def lateness_p99(self) -> float:
        return percentile(self.report.lateness, 99)

    @property
    def generator_ok(self) -> bool:
        """The generator kept to its schedule (lateness p99 <= 50 ms)."""
        return not self.lateness_p99 > LATENESS_LIMIT

    # --- output ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object; latencies in milliseconds, ``null`` where not measured."""
        r = self.report
        late = self.lateness
        return {
            "url": self.url,
            "provider": self.provider,
            "calls": self.calls,
            "processes": self.processes,
            "duration_s": self.duration,
            "ramp_s": self.ramp,
            "calls_connected": r.connected,
            "calls_ok": r.calls_ok,
            "calls_failed": self.calls - r.calls_ok,
            "frames_sent": r.sent,
            "frames_received": r.received,
            "lost_frames": self.lost,
            "echo": self.echoes,
            "latency_ms": _stats(self.rtts, [("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)]),
            "gap_ms": _stats(_array(r.gaps), [("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)]),
            "connect_ms": _stats(_array(r.connects), [("p50", 50), ("p99", 99), ("max", 100)]),
            "first_audio_ms": _stats(_array(r.first_audio), [("p50", 50), ("p99", 99)]),
            "checkpoint_ms": _stats(
                _array(r.checkpoints), [("p50", 50), ("p99", 99), ("max", 100)]
            ),
            "barge_in": self._barge_in(),
            "errors": dict(sorted(r.errors.items())),
            "generator": {
                "lateness_p99_ms": _ms(self.lateness_p99),
                "lateness_max_ms": _ms(percentile(late, 100)),
                "behind": not self.generator_ok,
            },
        }

    def _barge_in(self) -> dict[str, Any] | None:
        """The ``barge_in`` object of ``--json`` (README); ``None`` without a barge-in."""
        if self.barge_in_at is None:
            return None
        r = self.report
        marks = r.barge_in_marks
        played, cleared, hanging = marks["played"], marks["cleared"], marks["hanging"]
        return {
            "at_s": self.barge_in_at,
            "calls": r.barge_ins,
            "clear_missing": r.clears_missing,
            "clear_ms": _stats(_array(r.clear_reactions), [("p50", 50), ("p99", 99), ("max", 100)]),
            "stale_ms": _stats(_array(r.stale), [("p50", 50), ("p99", 99), ("max", 100)]),
            "marks": {
                "in_flight": played + cleared + hanging,
                "resolved": played + cleared,
                "played": played,
                "cleared": cleared,
                "hanging": hanging,
            },
        }

    def format_summary(self) -> str:
        """Human-readable summary (the default output of ``trio-plivo loadtest``)."""
        d = self.to_dict()

        def line(label: str, stats: dict[str, Any] | None, keys: Sequence[str]) -> str:
            if stats is None:
                return f"  {label:<18} n/a"
            parts = "  ".join(f"{k} {stats[k]:8.1f}" for k in keys)
            return f"  {label:<18} {parts}   ({stats['count']} samples)"

        out = []
        if d["generator"]["behind"]:
            out.append(
                "!! GENERATOR FELL BEHIND ITS SCHEDULE (lateness p99 "
                f"{d['generator']['lateness_p99_ms']:.1f} ms > {LATENESS_LIMIT * 1e3:.0f} ms): "
                "these results are NOT to be trusted; use more --processes or fewer --calls !!"
            )
        out += [
            f"{self.calls} {self.provider} calls to {self.url}, {self.duration:g} s measured, "
            f"{self.processes} process(es)",
            f"  calls              ok {d['calls_ok']}  failed {d['calls_failed']}  "
            f"(connected {d['calls_connected']})",
            f"  frames             sent {d['frames_sent']}  received {d['frames_received']}  "
            f"lost {d['lost_frames']}" + ("" if self.echoes else "  (the app does not echo)"),
            line("echo latency ms", d["latency_ms"], ["p50", "p95", "p99", "max"]),
            line("audible gap ms", d["gap_ms"], ["p50", "p90", "p99", "max"]),
            line("connect ms", d["connect_ms"], ["p50", "p99", "max"]),
            line("first audio ms", d["first_audio_ms"], ["p50", "p99"]),
            line("checkpoint ms", d["checkpoint_ms"], ["p50", "p99", "max"])
            + ("" if self.key_presses else "  (no key pressed: not measured)"),
            *_barge_in_lines(d["barge_in"], line),
            "  errors             "
            + (", ".join(f"{k} {v}" for k, v in d["errors"].items()) or "none"),
            f"  generator          lateness p99 {d['generator']['lateness_p99_ms'] or 0:.1f} ms"
            + ("  BEHIND SCHEDULE" if d["generator"]["behind"] else "  on time"),
        ]
        return "\n".join(out)


def _barge_in_lines(
    barge: dict[str, Any] | None, line: Callable[[str, dict[str, Any] | None, Sequence[str]], str]
) -> list[str]:
    """The summary's barge-in lines (``line`` formats a statistic)."""
    if barge is None:
        return ["  barge-in           not measured"]
    marks = barge["marks"]
    return [
        f"  barge-in           at {barge['at_s']:g} s: {barge['calls']} calls pressed *, "
        f"clear missing {barge['clear_missing']}",
        line("  key -> clear ms", barge["clear_ms"], ["p50", "p99", "max"]),
        line("  stale audio ms", barge["stale_ms"], ["p50", "p99", "max"])
        + ("" if barge["stale_ms"] is not None or not barge["calls"] else "  (no echo)"),
        f"    marks in flight  {marks['in_flight']}: resolved {marks['resolved']} "
        f"(played {marks['played']}, cleared {marks['cleared']}), hanging {marks['hanging']}",
    ]
