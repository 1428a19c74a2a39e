"""The little audio arithmetic the simulator needs: 20 ms framing, silence, decoding to PCM16.

Thin wrappers over :mod:`trio_plivo.audio`, so the simulator and the call path decode G.711
with the same tables.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from ..._format import AudioFormat
from ...audio import decode_wire, silence_byte

__all__ = ["FRAME_SECONDS", "frame_bytes", "silence", "to_pcm16"]

#: Plivo streams 20 ms of audio per ``media`` message.
FRAME_SECONDS: Final = 0.02


def frame_bytes(fmt: AudioFormat) -> int:
    """Bytes in one 20 ms frame of ``fmt``."""
    return fmt.bytes_for(FRAME_SECONDS * 1000)


def silence(fmt: AudioFormat, nbytes: int) -> bytes:
    """``nbytes`` of digital silence in ``fmt``."""
    return bytes([silence_byte(fmt.encoding)]) * nbytes


def to_pcm16(fmt: AudioFormat, data: bytes) -> npt.NDArray[np.int16]:
    """Decode ``data`` (whole samples of ``fmt``) to native-endian PCM16 samples."""
    return decode_wire(data, fmt)
