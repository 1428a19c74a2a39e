"""A frozen snapshot of one call's counters (``Call.statistics()``)."""

from __future__ import annotations

import attrs

__all__ = ["CallStatistics"]


@attrs.frozen(kw_only=True)
class CallStatistics:
    """Counters for one call, as of the moment :meth:`Call.statistics` was called."""

    #: Inbound media frames received from the provider.
    frames_received: int
    #: Inbound media frames dropped because the application fell behind.
    frames_dropped: int
    #: Audio frames sent to the provider.
    frames_sent: int
    #: Frames sent after the provider's buffer had run dry while we had audio waiting
    #: (each is an audible gap, caused by our scheduling, not by the application).
    late_frames: int
    #: Messages from the provider that could not be parsed (logged, then skipped).
    malformed_messages: int
    #: Well-formed messages of a kind we do not model.
    unknown_events: int
    #: Milliseconds of audio sent but not yet played, per the playout clock.
    lead_ms: float
    #: Milliseconds of audio queued locally, not yet sent.
    queued_ms: float
    #: Marks waiting for their outcome.
    pending_marks: int
    #: Acknowledgements that matched no pending mark (late after a clear, duplicates).
    stale_acks: int
