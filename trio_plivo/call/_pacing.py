"""Where the provider's playout is, estimated from what we sent and when (pure, no trio).

The provider plays our frames back to back from its own buffer. If we send a frame at ``now``
it starts playing when everything sent before it has finished (or at once if the buffer ran
dry). ``play_head`` is the moment everything sent so far will have finished. We keep it at
most ``lead`` ahead of ``now``: enough to ride over scheduling hiccups, little enough that a
``clearAudio`` has only ``lead`` of audio to discard and barge-in stays fast.

The sender tops up rather than trickles: once the lead is full it sleeps until half of it
has played, then sends every frame that fits in one batch. A long prompt then costs one
wake-up and one write per two or three frames instead of one per frame, and the provider
still holds at least half the lead when the top-up goes out. Audio that arrives as it plays
(an echo, a relay, a TTS stream at real-time speed) has little queued: it goes out as soon
as what is queued fits, not at the low-water mark, so a frame that found the lead full waits
one frame, not half the lead (measured: echo round trips at 300 calls in ``bench_capacity``).
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

    def next_send_time(self, queued_s: float) -> float:
        """When the sender should next wake, with ``queued_s`` of audio waiting: as soon as
        all of it fits in the lead, and at the latest when the lead has fallen to the
        low-water mark (a long queue is topped up in one batch)."""
        return self.play_head - max(self.low_water_s, self.lead_s - max(queued_s, self.frame_s))

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
