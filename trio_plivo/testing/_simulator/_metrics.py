"""Playout metrics computed from the final schedule: first audio, audible gaps, barge-ins.

Gaps follow the agent-transport load test (field notes §3): consecutive 20 ms frames that
play back to back have an audible gap of 0, and a dry buffer between two stretches of
playback is an audible gap of its length. Two kinds of silence are not glitches and are
kept out of the statistics: the silence after a ``clearAudio`` (the app asked for it) and
pauses of at least ``phrase_gap`` (turn boundaries; the load test caps at 500 ms too).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import attrs
import numpy as np

from ._pcm import FRAME_SECONDS
from ._playout import Playout
from ._report import BargeIn, Gap, GapStats

__all__ = ["PlayoutMetrics", "playout_metrics"]


@attrs.frozen
class PlayoutMetrics:
    time_to_first_audio: float | None
    gaps: tuple[Gap, ...]
    pauses: tuple[Gap, ...]
    gap_stats: GapStats
    barge_ins: tuple[BargeIn, ...]


def playout_metrics(
    playout: Playout,
    *,
    until: int,
    rate: int,
    phrase_gap: float,
    barge_in_at: Sequence[float],
) -> PlayoutMetrics:
    """Measure the playout schedule up to sample position ``until``."""
    runs = playout.runs(until)
    frame = round(rate * FRAME_SECONDS)
    gaps: list[Gap] = []
    pauses: list[Gap] = []
    intervals = [0.0] * sum(max(0, math.ceil((end - start) / frame) - 1) for start, end in runs)
    for (_, prev_end), (next_start, _) in itertools.pairwise(runs):
        if any(prev_end <= cut <= next_start for cut in playout.cuts):
            continue
        gap = Gap(at=prev_end / rate, duration=(next_start - prev_end) / rate)
        if gap.duration >= phrase_gap:
            pauses.append(gap)
        else:
            gaps.append(gap)
            intervals.append(gap.duration)
    return PlayoutMetrics(
        time_to_first_audio=runs[0][0] / rate if runs else None,
        gaps=tuple(gaps),
        pauses=tuple(pauses),
        gap_stats=_stats(intervals),
        barge_ins=tuple(_barge_in(at, runs, playout.cuts, rate) for at in barge_in_at),
    )


def _stats(intervals: list[float]) -> GapStats:
    if not intervals:
        return GapStats(transitions=0, p50=0.0, p90=0.0, p99=0.0, max=0.0)
    p50, p90, p99 = (float(v) for v in np.percentile(intervals, [50, 90, 99]))
    return GapStats(transitions=len(intervals), p50=p50, p90=p90, p99=p99, max=max(intervals))


def _barge_in(at: float, runs: list[tuple[int, int]], cuts: list[int], rate: int) -> BargeIn:
    position = round(at * rate)
    for start, end in runs:
        if start <= position < end:
            return BargeIn(
                at=at,
                silent_at=end / rate,
                heard_after=(end - position) / rate,
                cleared=end in cuts,
            )
    return BargeIn(at=at, silent_at=at, heard_after=0.0, cleared=False)
