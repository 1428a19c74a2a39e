"""The little audio arithmetic the simulator needs on its own: silence and decoding to PCM16.

Kept local (a 256-entry G.711 table) so the simulator works without the full audio module;
everything here is pure and vectorised with numpy.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .._format import AudioFormat, Encoding

__all__ = ["FRAME_SECONDS", "frame_bytes", "silence", "to_pcm16"]

#: Plivo streams 20 ms of audio per ``media`` message.
FRAME_SECONDS: Final = 0.02


def _mulaw_table() -> npt.NDArray[np.int16]:
    codes = np.arange(256, dtype=np.int32)
    inverted = ~codes & 0xFF  # G.711 stores µ-law code words bit-inverted
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(inverted & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> npt.NDArray[np.int16]:
    codes = np.arange(256, dtype=np.int32) ^ 0x55  # A-law toggles the even bits
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(codes & 0x80, magnitude, -magnitude).astype(np.int16)


_MULAW_TO_PCM16: Final = _mulaw_table()
_ALAW_TO_PCM16: Final = _alaw_table()
# The code word that decodes to (near) zero: what a silent caller sends.
_SILENT_BYTE: Final = {Encoding.MULAW: 0xFF, Encoding.ALAW: 0xD5, Encoding.L16: 0x00}


def frame_bytes(fmt: AudioFormat) -> int:
    """Bytes in one 20 ms frame of ``fmt``."""
    return fmt.bytes_for(FRAME_SECONDS * 1000)


def silence(fmt: AudioFormat, nbytes: int) -> bytes:
    """``nbytes`` of digital silence in ``fmt``."""
    return bytes([_SILENT_BYTE[fmt.encoding]]) * nbytes


def to_pcm16(fmt: AudioFormat, data: bytes) -> npt.NDArray[np.int16]:
    """Decode ``data`` (whole samples of ``fmt``) to native-endian PCM16 samples."""
    if fmt.encoding is Encoding.L16:
        dtype = "<i2" if fmt.byte_order == "little" else ">i2"
        return np.frombuffer(data, dtype=dtype).astype(np.int16)
    table = _MULAW_TO_PCM16 if fmt.encoding is Encoding.MULAW else _ALAW_TO_PCM16
    return table[np.frombuffer(data, dtype=np.uint8)]
