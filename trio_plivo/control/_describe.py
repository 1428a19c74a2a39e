"""A live call as the control API lists it."""

from __future__ import annotations

from datetime import UTC, datetime

from ..call import LiveCall

__all__ = ["describe"]


def describe(live: LiveCall, node: str) -> dict[str, object]:
    """One call as ``GET /calls`` lists it."""
    call = live.call
    stats = call.statistics()
    return {
        "call_id": call.call_id,
        "stream_id": call.stream_id,
        "provider": call.provider,
        "media_format": call.media_format.to_content_type(),
        "started_at": datetime.fromtimestamp(live.started_at, UTC).isoformat(),
        "frames_in": stats.frames_received,
        "frames_out": stats.frames_sent,
        "frames_dropped": stats.frames_dropped,
        "pending_marks": stats.pending_marks,
        "lead_ms": round(stats.lead_ms, 1),
        "node": node,
    }
