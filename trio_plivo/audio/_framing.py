"""Cutting a byte stream into exact wire frames (20 ms: 160 bytes of µ-law 8k, 640 of L16 16k).

Providers expect whole frames: a short frame in the middle of a stream makes some of them
stutter, and an odd byte in L16 swaps every later sample's bytes. :class:`Framer` carries any
remainder over to the next push and pads only the very last frame, with the encoding's silence.
"""

from __future__ import annotations

from typing import Final

from .._exceptions import ConfigurationError
from .._format import AudioFormat, Encoding
from ._types import BytesLike

__all__ = ["Framer", "silence_byte"]

# The code that decodes to (near) zero: µ-law 0xFF is +0, A-law 0xD5 is +8 (its smallest level).
_SILENCE: Final[dict[Encoding, int]] = {
    Encoding.MULAW: 0xFF,
    Encoding.ALAW: 0xD5,
    Encoding.L16: 0x00,
}


def silence_byte(encoding: Encoding) -> int:
    """The byte value that encodes silence in ``encoding`` (0xFF µ-law, 0xD5 A-law, 0 L16)."""
    return _SILENCE[encoding]


class Framer:
    """Split any stream of bytes into frames of exactly ``frame_bytes``.

    :meth:`push` returns every complete frame and keeps the remainder; :meth:`flush` returns the
    remainder padded to a full frame with ``pad_byte`` (or nothing when there is no remainder);
    :meth:`reset` drops the remainder (barge-in).
    """

    def __init__(self, frame_bytes: int, pad_byte: int = 0) -> None:
        if not isinstance(frame_bytes, int) or frame_bytes <= 0:
            raise ConfigurationError(f"frame_bytes must be a positive integer, got {frame_bytes!r}")
        if not isinstance(pad_byte, int) or not 0 <= pad_byte <= 255:
            raise ConfigurationError(f"pad_byte must be an int in 0..255, got {pad_byte!r}")
        self.frame_bytes: Final = frame_bytes
        self.pad_byte: Final = pad_byte
        self._pending = bytearray()

    @classmethod
    def for_format(cls, audio_format: AudioFormat, frame_ms: float = 20) -> Framer:
        """A framer for ``frame_ms`` frames of ``audio_format``, padding with its silence."""
        frame_bytes = audio_format.bytes_for(frame_ms)
        if frame_bytes <= 0:
            raise ConfigurationError(f"{frame_ms} ms of {audio_format} is less than one sample")
        return cls(frame_bytes, silence_byte(audio_format.encoding))

    @property
    def pending(self) -> int:
        """Bytes waiting for the next push to complete a frame."""
        return len(self._pending)

    def push(self, data: BytesLike) -> list[bytes]:
        """Add ``data`` and return the complete frames now available (possibly none)."""
        size = self.frame_bytes
        if not self._pending and len(data) % size == 0:
            # Fast path for a producer that already sends whole frames: no copying into a buffer.
            view = memoryview(data)
            return [bytes(view[i : i + size]) for i in range(0, len(view), size)]
        self._pending += data
        whole = len(self._pending) - len(self._pending) % size
        frames = [bytes(self._pending[i : i + size]) for i in range(0, whole, size)]
        del self._pending[:whole]
        return frames

    def flush(self) -> list[bytes]:
        """Return the remainder padded to one full frame (an empty list if there is none)."""
        if not self._pending:
            return []
        frame = bytes(self._pending) + bytes([self.pad_byte]) * (
            self.frame_bytes - len(self._pending)
        )
        self._pending.clear()
        return [frame]

    def reset(self) -> None:
        """Drop the remainder without emitting it."""
        self._pending.clear()

    def __repr__(self) -> str:
        return f"Framer({self.frame_bytes}, pad_byte={self.pad_byte:#04x}, pending={self.pending})"
