"""Where the provider's playout is, estimated from what we sent and when (pure, no trio).

The provider plays our frames back to back from its own buffer. If we send a frame at ``now``
it starts playing when everything sent before it has finished (or at once if the buffer ran
dry). ``play_head`` is the moment everything sent so far will have finished. We keep it at
most ``lead`` ahead of ``now``: enough to ride over scheduling hiccups, little enough that a
``clearAudio`` has only ``lead`` of audio to discard and barge-in stays fast.

The sender tops up rather than trickles: once the lead is full it sleeps until half of it
has played, then sends every frame that fits in one batch. A long prompt then costs one
wake-up and one write per two or three frames instead of one per frame, and the provider
still holds at least half the lead when the top-up goes out.
"""

from __future__ import annotations

import math

__all__ = ["PlayoutClock"]

_EPSILON = 1e-9


class PlayoutClock:
    """Real-time pacing with a bounded lead, all times in seconds on any monotonic clock."""

    __slots__ = ("frame_s", "lead_s", "low_water_s", "play_head")

    def __init__(self, frame_s: float, lead_s: float) -> None:
        if lead_s + _EPSILON < frame_s:
            raise ValueError("the lead must be at least one frame")
        self.frame_s = frame_s
        self.lead_s = lead_s
        #: Top up when the lead has fallen to this (half of it, and at least a frame below
        #: it, so a one-frame lead still sends every frame as soon as it fits).
        self.low_water_s = max(0.0, min(lead_s / 2, lead_s - frame_s))
        #: When everything sent so far will have played (``-inf``: nothing sent yet).
        self.play_head = -math.inf

    def next_send_time(self) -> float:
        """When the sender should next top up: the lead has fallen to the low-water mark."""
        return self.play_head - self.low_water_s

    def may_send(self, now: float) -> bool:
        return max(self.play_head, now) + self.frame_s - now <= self.lead_s + _EPSILON

    def starved(self, now: float) -> bool:
        """True when the provider's buffer has run dry (it is playing silence)."""
        return now > self.play_head + _EPSILON

    def frame_sent(self, now: float) -> float:
        """Record a frame sent at ``now``; returns when it starts playing."""
        start = max(self.play_head, now)
        self.play_head = start + self.frame_s
        return start

    def lead(self, now: float) -> float:
        """How far ahead of ``now`` the playout currently runs (0 when idle)."""
        return max(0.0, self.play_head - now)

    def cleared(self, now: float) -> None:
        """The provider discarded its buffer: nothing is queued beyond ``now``."""
        self.play_head = min(self.play_head, now)
