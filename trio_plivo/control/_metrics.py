"""``GET /metrics``: one server's counters in the Prometheus text format.

Nothing is counted per frame for this: the calls already keep their counters
(:meth:`Call.statistics`), the mark tracker its outcomes and round trips, the server its
refused handshakes. :class:`ServerMetrics` adds up the calls that ended (when the registry
says so) and, at each scrape, the calls still live; one task samples the event loop's
lateness. ``prometheus_client`` only writes the exposition format.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, Final

import attrs
import trio

from ..call import Call, LiveCall
from ..server import StreamServer

__all__ = ["ServerMetrics"]

#: Seconds; the mark round trip is the audio queued ahead plus the network, so it spans far.
ROUND_TRIP_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Seconds an event-loop wake-up came late.
LATENESS_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_FRAME_FIELDS: Final = (
    ("frames_received", "frames_in"),
    ("frames_sent", "frames_out"),
    ("frames_dropped", "frames_dropped"),
    ("late_frames", "frames_late"),
    ("malformed_messages", "malformed_messages"),
)
_SAMPLE_EVERY_S: Final = 0.1


@attrs.define(eq=False)
class Histogram:
    """Bucket counts, the sum and the count: what the text format needs of a histogram."""

    bounds: Sequence[float]
    counts: list[int] = attrs.field(init=False)
    total: float = 0.0

    def __attrs_post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        running, out = 0, []
        for bound, count in zip([*map(str, self.bounds), "+Inf"], self.counts, strict=True):
            running += count
            out.append((bound, float(running)))
        return out


def _marks(call: Call) -> Counter[str]:
    tracker = call._tracker
    return Counter(played=tracker.played, cleared=tracker.cleared, call_ended=tracker.call_ended)


@attrs.define(eq=False)
class ServerMetrics:
    """The counters of ``server`` since this object was made; ``worker`` becomes a label."""

    server: StreamServer
    worker: int | None = None
    _ended_frames: Counter[str] = attrs.field(factory=Counter, init=False)
    _ended_marks: Counter[str] = attrs.field(factory=Counter, init=False)
    _close_codes: Counter[str] = attrs.field(factory=Counter, init=False)
    _round_trips: Histogram = attrs.field(factory=lambda: Histogram(ROUND_TRIP_BUCKETS), init=False)
    _lateness: Histogram = attrs.field(factory=lambda: Histogram(LATENESS_BUCKETS), init=False)

    def __attrs_post_init__(self) -> None:
        self.server.calls.observe(self._on_call)

    def _on_call(self, event: str, live: LiveCall) -> None:
        if event != "ended":
            return
        call = live.call
        stats = call.statistics()
        for field, name in _FRAME_FIELDS:
            self._ended_frames[name] += getattr(stats, field)
        self._ended_marks += _marks(call)
        self._close_codes[str(call.close_code) if call.close_code is not None else "none"] += 1
        for trip in call._tracker.round_trips:
            self._round_trips.observe(trip)

    async def sample_lateness(self) -> None:
        """Run forever: how late the event loop wakes a task that asked for 100 ms."""
        while True:
            asked = trio.current_time() + _SAMPLE_EVERY_S
            await trio.sleep_until(asked)
            self._lateness.observe(max(0.0, trio.current_time() - asked))

    # --- exposition --------------------------------------------------------------------------

    def render(self) -> bytes:
        """The metrics in the Prometheus text format (version 0.0.4)."""
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        data: bytes = generate_latest(registry)
        return data

    def families(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        base = [] if self.worker is None else ["worker"]
        worker = [] if self.worker is None else [str(self.worker)]
        live_calls = list(self.server.calls)

        active = GaugeMetricFamily(
            "trio_plivo_active_calls", "Calls in progress, by provider", labels=[*base, "provider"]
        )
        for provider, count in sorted(self.server.calls.counts_by_provider().items()):
            active.add_metric([*worker, provider], count)
        yield active

        calls = CounterMetricFamily(
            "trio_plivo_calls", "Calls ended, by WebSocket close code", labels=[*base, "code"]
        )
        for code, count in sorted(self._close_codes.items()):
            calls.add_metric([*worker, code], count)
        yield calls

        frames = Counter(self._ended_frames)
        marks = Counter(self._ended_marks)
        for live in live_calls:
            stats = live.call.statistics()
            for field, name in _FRAME_FIELDS:
                frames[name] += getattr(stats, field)
            marks += _marks(live.call)
        for _, name in _FRAME_FIELDS:
            what = name.replace("_", " ")
            family = CounterMetricFamily(f"trio_plivo_{name}", f"Total {what}", labels=base)
            family.add_metric(worker, frames[name])
            yield family

        by_outcome = CounterMetricFamily(
            "trio_plivo_marks", "Marks resolved, by outcome", labels=[*base, "outcome"]
        )
        for outcome in ("played", "cleared", "call_ended"):
            by_outcome.add_metric([*worker, outcome], marks[outcome])
        yield by_outcome

        refusals = CounterMetricFamily(
            "trio_plivo_handshake_refusals",
            "Upgrades refused before any call started, by HTTP status",
            labels=[*base, "status"],
        )
        for status, count in sorted(self.server.refusals.items()):
            refusals.add_metric([*worker, str(status)], count)
        yield refusals

        for name, text, value in (
            (
                "trio_plivo_replayed_signatures",
                "Signed upgrades refused because their nonce was seen before",
                self.server.replays,
            ),
            (
                "trio_plivo_replay_check_failures",
                "Signed upgrades refused (503) because the shared nonce cache could not answer",
                self.server.replay_check_failures,
            ),
        ):
            counter = CounterMetricFamily(name, text, labels=base)
            counter.add_metric(worker, value)
            yield counter

        for name, text, histogram in (
            ("trio_plivo_mark_round_trip_seconds", "Mark sent to played", self._round_trips),
            ("trio_plivo_event_loop_lateness_seconds", "Late wake-ups", self._lateness),
        ):
            spread = HistogramMetricFamily(name, text, labels=base)
            spread.add_metric(worker, histogram.cumulative(), histogram.total)
            yield spread


@attrs.define(eq=False)
class _Collector:
    metrics: ServerMetrics

    def collect(self) -> Iterator[Any]:
        return self.metrics.families()
