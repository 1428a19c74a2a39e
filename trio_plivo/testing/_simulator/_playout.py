"""Plivo's playout buffer, modelled in sample positions (no clocks, no I/O).

Theory of operation: audio plays at exactly the stream's sample rate, so once a ``playAudio``
payload is queued its play window is fully determined: it starts when everything queued
before it has finished, or at its arrival if the buffer had run dry (the dry spell is silence
the caller hears). Positions are integer sample counts since ``start`` was sent, which keeps
the arithmetic exact and the heard timeline free of rounding seams.

A checkpoint is due at the position where everything queued before it ends. ``clearAudio``
cuts the schedule at its (possibly delayed) effective position: audio beyond it is discarded
and checkpoints that were not yet due are dropped for good, never acknowledged, which is what
Plivo does. The session drives this model from the Trio clock and sends the replies.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["ClearOutcome", "Playout", "Segment"]


@attrs.define
class Segment:
    """One queued ``playAudio`` payload: PCM16 samples starting at ``start``."""

    start: int
    samples: npt.NDArray[np.int16]

    @property
    def end(self) -> int:
        return self.start + len(self.samples)


@attrs.frozen
class ClearOutcome:
    """What a ``clearAudio`` did, in samples."""

    #: Samples still played after the clear arrived (the modelled clear latency, at most).
    heard_after: int
    #: Queued samples thrown away.
    discarded: int
    #: Names of the checkpoints that will now never be acknowledged.
    dropped_checkpoints: tuple[str, ...]


@attrs.define
class _PendingCheckpoint:
    name: str
    due: int
    #: Queued receipt order, so acks of checkpoints due together keep the app's order.
    order: int


@attrs.define
class Playout:
    """The FIFO of queued audio and checkpoints of one stream."""

    segments: list[Segment] = attrs.field(factory=list)
    #: Effective positions of every clear (where the cut happened).
    cuts: list[int] = attrs.field(factory=list)
    _pending: list[_PendingCheckpoint] = attrs.field(factory=list)
    _end: int = 0
    _order: int = 0

    def queued_end(self) -> int:
        """Position where the currently queued audio finishes."""
        return self._end

    def enqueue(self, now: int, samples: npt.NDArray[np.int16]) -> Segment:
        """Queue ``samples`` received at position ``now``; returns its scheduled segment."""
        segment = Segment(max(now, self._end), samples)
        self._end = segment.end
        if len(samples):
            self.segments.append(segment)
        return segment

    def checkpoint(self, now: int, name: str) -> int:
        """Queue a checkpoint received at ``now``; returns the position it is due at."""
        due = max(now, self._end)
        self._order += 1
        self._pending.append(_PendingCheckpoint(name, due, self._order))
        return due

    def next_due(self) -> int | None:
        """Position of the earliest pending checkpoint, if any."""
        return min((p.due for p in self._pending), default=None)

    def pop_due(self, now: int) -> list[str]:
        """Names of the checkpoints due at or before ``now``, in the order they were queued."""
        due = [p for p in self._pending if p.due <= now]
        self._pending = [p for p in self._pending if p.due > now]
        return [p.name for p in sorted(due, key=lambda p: (p.due, p.order))]

    def clear(self, now: int, latency: int = 0) -> ClearOutcome:
        """Apply a ``clearAudio`` received at ``now`` that takes effect ``latency`` later."""
        cut = now + latency
        heard_after = max(0, min(self._end, cut) - now)
        discarded = max(0, self._end - cut)
        kept: list[Segment] = []
        for segment in self.segments:
            if segment.start >= cut:
                continue
            if segment.end > cut:
                segment = Segment(segment.start, segment.samples[: cut - segment.start])
            kept.append(segment)
        self.segments = kept
        dropped = [p for p in self._pending if p.due > cut]
        self._pending = [p for p in self._pending if p.due <= cut]
        self._end = min(self._end, cut)
        self.cuts.append(cut)
        return ClearOutcome(heard_after, discarded, tuple(p.name for p in dropped))

    def pending_names(self) -> list[str]:
        """Checkpoints still waiting (they will go unacknowledged if the call ends now)."""
        return [p.name for p in sorted(self._pending, key=lambda p: (p.due, p.order))]

    def heard(self, until: int) -> npt.NDArray[np.int16]:
        """What the caller heard from position 0 to ``until``: audio, and silence elsewhere."""
        out = np.zeros(max(until, 0), dtype=np.int16)
        for segment in self.segments:
            if segment.start >= until:
                break
            stop = min(segment.end, until)
            out[segment.start : stop] = segment.samples[: stop - segment.start]
        return out

    def runs(self, until: int) -> list[tuple[int, int]]:
        """Contiguous stretches of playback ``(start, end)`` before ``until``."""
        runs: list[tuple[int, int]] = []
        for segment in self.segments:
            if segment.start >= until:
                break
            end = min(segment.end, until)
            if runs and runs[-1][1] == segment.start:
                runs[-1] = (runs[-1][0], end)
            else:
                runs.append((segment.start, end))
        return runs
