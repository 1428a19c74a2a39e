"""What travels through a call's playback channel, and how audio is cut to go in it.

The application side (``Call.play``/``mark``/``clear``) and the sender of
:mod:`._playback` share these: pieces of wire audio and marks, each with the generation
(bumped by every clear) it was queued in.
"""

from __future__ import annotations

from typing import Final

import attrs

from .._format import Encoding
from ._marks import Mark

__all__ = ["SILENCE", "Queued", "Segment", "pieces"]

#: The byte that is silence in each encoding (a partial last frame is padded with it).
SILENCE: Final = {Encoding.MULAW: 0xFF, Encoding.ALAW: 0xD5, Encoding.L16: 0x00}


#: What goes through the playback channel: (generation, audio piece or mark).
Queued = tuple[int, "bytes | Mark"]


@attrs.define(eq=False)
class Segment:
    """The audio sent since the last mark (or clear): where its playout started, how long."""

    start: float | None = None
    sent_ms: float = 0.0


def pieces(audio: bytes, size: int) -> list[bytes]:
    """``audio`` cut into ``size``-byte pieces (the last may be shorter)."""
    view = memoryview(audio)
    return [bytes(view[offset : offset + size]) for offset in range(0, len(audio), size)]
