"""Timestamps as Plivo's HTTP surfaces write them (status callbacks, REST response bodies).

Shared by :mod:`trio_plivo.web` and :mod:`trio_plivo.rest`; pure, never raises on odd input.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_timestamp"]


def parse_timestamp(text: str | None) -> datetime | None:
    """Epoch seconds, epoch milliseconds or ISO 8601, as a timezone-aware ``datetime``
    (naive values are taken as UTC); ``None`` for ``None`` or anything unparseable."""
    if text is None:
        return None
    try:
        if text.isdigit():
            number = int(text)
            # 13 digits are milliseconds since the epoch (like media timestamps), 10 seconds.
            return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
