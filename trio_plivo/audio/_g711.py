"""G.711 µ-law and A-law codecs, bit-exact with the classic Sun/CCITT reference (and ``audioop``).

Both directions are lookup tables built once at import from the G.711 segment formulas: a
65,536-entry table indexed by the 16-bit pattern of a PCM sample (encode) and a 256-entry table
indexed by the code (decode). A table lookup is one numpy ``take`` per frame, several times faster
than evaluating the formula, and the tables cost 66 KB + 1 KB.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .._exceptions import ConfigurationError
from ._types import BytesLike, Int16Array

# The public names are re-exported (and listed) by trio_plivo.audio.

# µ-law works on a 14-bit magnitude with a bias of 33 so that every segment starts at a power
# of two; anything above 8159 saturates to the last code.
_MULAW_CLIP: Final = 8159
_MULAW_BIAS: Final = 33


def _bit_length(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``int.bit_length`` for an array of non-negative integers (exact below 2**53)."""
    _, exponent = np.frexp(values.astype(np.float64))
    return exponent.astype(np.int64)


def _build_mulaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int64)
    x = pcm >> 2  # the standard's 14-bit input
    negative = x < 0
    magnitude = np.minimum(np.abs(x), _MULAW_CLIP) + _MULAW_BIAS  # 33 .. 8192
    segment = _bit_length(magnitude) - 6  # 0 .. 8; 8 only for the saturated value 8192
    mantissa = (magnitude >> (segment + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    # Codes are transmitted inverted; the sign bit is set for non-negative samples.
    code = 0xFF ^ (code | np.where(negative, 0x80, 0))
    return code.astype(np.uint8)


def _build_mulaw_decode_table() -> Int16Array:
    code = ~np.arange(256, dtype=np.int64) & 0xFF
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + (_MULAW_BIAS << 2)) << segment) - (_MULAW_BIAS << 2)
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _build_alaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int64)
    x = pcm >> 3  # the standard's 13-bit input
    non_negative = x >= 0
    # A-law is symmetric around -0.5, so negative inputs fold onto 0 .. 4095 by one's complement.
    magnitude = np.where(non_negative, x, -x - 1)
    segment = np.maximum(_bit_length(magnitude) - 5, 0)  # 0 .. 7
    mantissa = np.where(segment < 2, magnitude >> 1, magnitude >> np.maximum(segment, 1)) & 0x0F
    code = (segment << 4) | mantissa
    # Even bits are inverted on the line (0x55), and the sign bit is set for non-negative samples.
    code = code ^ np.where(non_negative, 0xD5, 0x55)
    return code.astype(np.uint8)


def _build_alaw_decode_table() -> Int16Array:
    code = np.arange(256, dtype=np.int64) ^ 0x55
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    first_segment = (mantissa << 4) + 8
    later_segments = ((mantissa << 4) + 0x108) << np.maximum(segment - 1, 0)
    magnitude = np.where(segment == 0, first_segment, later_segments)
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


_MULAW_ENCODE: Final = _build_mulaw_encode_table()
_MULAW_DECODE: Final = _build_mulaw_decode_table()
_ALAW_ENCODE: Final = _build_alaw_encode_table()
_ALAW_DECODE: Final = _build_alaw_decode_table()


def encode_mulaw(samples: Int16Array) -> npt.NDArray[np.uint8]:
    """Encode native-order PCM16 samples to µ-law codes (one byte per sample)."""
    return _MULAW_ENCODE[samples.view(np.uint16)]


def decode_mulaw(codes: npt.NDArray[np.uint8]) -> Int16Array:
    """Decode µ-law codes to native-order PCM16 samples."""
    return _MULAW_DECODE[codes]


def encode_alaw(samples: Int16Array) -> npt.NDArray[np.uint8]:
    """Encode native-order PCM16 samples to A-law codes (one byte per sample)."""
    return _ALAW_ENCODE[samples.view(np.uint16)]


def decode_alaw(codes: npt.NDArray[np.uint8]) -> Int16Array:
    """Decode A-law codes to native-order PCM16 samples."""
    return _ALAW_DECODE[codes]


def _pcm16_le(data: BytesLike) -> Int16Array:
    if len(data) % 2:
        raise ConfigurationError(f"PCM16 data must have an even length, got {len(data)} bytes")
    return np.frombuffer(data, dtype="<i2").astype(np.int16, copy=False)


def pcm16_to_mulaw(data: BytesLike) -> bytes:
    """Encode little-endian PCM16 bytes to µ-law bytes (like ``audioop.lin2ulaw(data, 2)``)."""
    return encode_mulaw(_pcm16_le(data)).tobytes()


def mulaw_to_pcm16(data: BytesLike) -> bytes:
    """Decode µ-law bytes to little-endian PCM16 bytes (like ``audioop.ulaw2lin(data, 2)``)."""
    return decode_mulaw(np.frombuffer(data, dtype=np.uint8)).astype("<i2", copy=False).tobytes()


def pcm16_to_alaw(data: BytesLike) -> bytes:
    """Encode little-endian PCM16 bytes to A-law bytes (like ``audioop.lin2alaw(data, 2)``)."""
    return encode_alaw(_pcm16_le(data)).tobytes()


def alaw_to_pcm16(data: BytesLike) -> bytes:
    """Decode A-law bytes to little-endian PCM16 bytes (like ``audioop.alaw2lin(data, 2)``)."""
    return decode_alaw(np.frombuffer(data, dtype=np.uint8)).astype("<i2", copy=False).tobytes()
