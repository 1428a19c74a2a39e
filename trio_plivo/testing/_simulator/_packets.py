"""The caller's audio in the provider's shape: packets of its size, key presses as tones.

Caller audio is produced in 20 ms frames (:mod:`._caller_audio`); Exotel sends ~100 ms and
KooKoo 10 ms packets, and KooKoo has no DTMF events, so a key press there is a tone in the
audio. Pure: bytes in, bytes out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..._format import AudioFormat
from ...audio import dtmf_tones, encode_wire
from ._pcm import FRAME_SECONDS, silence, to_pcm16

__all__ = ["InbandDtmf", "Packetizer"]

#: How long the simulated caller holds a key (long enough for any detector, ~32 ms needed).
TONE_MS = 100.0


class Packetizer:
    """Re-cuts 20 ms frames into packets of ``frame_ms``, numbered from 1.

    At 20 ms frames pass through untouched, whatever their length (a test's odd-sized frame
    stays odd); otherwise they are joined or split, and :meth:`flush` pads the last packet
    with silence.
    """

    def __init__(self, fmt: AudioFormat, frame_ms: int) -> None:
        self._fmt = fmt
        self._size = fmt.bytes_for(frame_ms)
        self._passthrough = frame_ms == round(FRAME_SECONDS * 1000)
        self._buffer = b""
        self._count = 0

    def push(self, frame: bytes) -> list[tuple[int, bytes]]:
        """The packets ``frame`` completes, as ``(number, packet)``."""
        if self._passthrough:
            self._count += 1
            return [(self._count, frame)]
        self._buffer += frame
        out: list[tuple[int, bytes]] = []
        while len(self._buffer) >= self._size:
            packet, self._buffer = self._buffer[: self._size], self._buffer[self._size :]
            self._count += 1
            out.append((self._count, packet))
        return out

    def flush(self) -> list[tuple[int, bytes]]:
        """The last, partial packet padded with silence (none if nothing is left over)."""
        if not self._buffer:
            return []
        packet = self._buffer + silence(self._fmt, self._size - len(self._buffer))
        self._buffer = b""
        self._count += 1
        return [(self._count, packet)]


class InbandDtmf:
    """Key presses as DTMF tones that replace the caller's audio for :data:`TONE_MS` each."""

    def __init__(self, fmt: AudioFormat, schedule: Sequence[tuple[str, float]]) -> None:
        self._fmt = fmt
        rate = fmt.sample_rate
        self._tones: list[tuple[int, npt.NDArray[np.int16]]] = [
            (
                round(at * rate),
                np.frombuffer(dtmf_tones(digit, rate, tone_ms=TONE_MS, gap_ms=0), dtype="<i2"),
            )
            for digit, at in schedule
        ]

    def apply(self, frame: bytes, at: float) -> bytes:
        """``frame`` (starting ``at`` seconds in) with any tone sounding then pasted in."""
        start = round(at * self._fmt.sample_rate)
        end = start + len(frame) // self._fmt.bytes_per_sample
        hits = [(s, tone) for s, tone in self._tones if s < end and s + len(tone) > start]
        if not hits:
            return frame
        pcm = to_pcm16(self._fmt, frame).copy()
        for s, tone in hits:
            lo, hi = max(s, start), min(s + len(tone), end)
            pcm[lo - start : hi - start] = tone[lo - s : hi - s]
        return encode_wire(pcm, self._fmt)
