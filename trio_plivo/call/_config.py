"""Per-call settings."""

from __future__ import annotations

import os
from typing import Final, Protocol

import attrs

from .._exceptions import ConfigurationError

__all__ = ["PIECE_MS", "CallConfig", "HangupClient"]

#: play() hands audio to the sender in pieces of this many milliseconds, so that the
#: playback buffer bound is a bound on queued *time*, whatever chunk sizes the app uses.
PIECE_MS: Final = 100


class HangupClient(Protocol):
    """Something that hangs up a call by id over the provider's REST API."""

    async def hangup_call(self, call_uuid: str) -> bool: ...


@attrs.frozen(kw_only=True)
class CallConfig:
    """Tuning for one call. The defaults suit a voice agent on Plivo."""

    #: How far ahead of the provider's playout we send audio. More rides over hiccups;
    #: less makes barge-in faster (a clear discards at most this much).
    lead_ms: float = 100.0
    #: Inbound audio kept for an application that falls behind, before the oldest is dropped.
    inbound_buffer_ms: float = 1000.0
    #: Outbound audio that ``play()`` may queue before it waits (backpressure).
    playback_buffer_ms: float = 10_000.0
    #: How long to wait for the provider's ``start`` message.
    start_timeout: float = 10.0
    #: How long a close (our side) may take before the transport is dropped.
    close_timeout: float = 5.0
    #: Record each call to ``<record_dir>/<call id>.wav``: stereo, caller left, played
    #: audio right, aligned on the playout clock, written incrementally.
    record_dir: str | os.PathLike[str] | None = None
    #: Append every inbound event and outbound command (each audio frame sent as a
    #: ``playAudio`` line with its size; payloads omitted) to
    #: ``<event_log_dir>/events-YYYY-MM-DD.jsonl``.
    event_log_dir: str | os.PathLike[str] | None = None
    #: Hangs up calls for :meth:`Call.hangup` on providers without an in-stream hang-up
    #: message (``hangup_call(call_id)``; e.g. :class:`trio_plivo.rest.PlivoRestClient`).
    hangup_client: HangupClient | None = None

    def __attrs_post_init__(self) -> None:
        if self.lead_ms < 20:
            raise ConfigurationError("lead_ms must be at least one 20 ms frame")
        if self.inbound_buffer_ms < 20 or self.playback_buffer_ms < PIECE_MS:
            raise ConfigurationError("buffers must hold at least one frame")
