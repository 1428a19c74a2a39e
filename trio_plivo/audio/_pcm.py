"""PCM16 (L16) samples <-> bytes in either byte order, and channel handling.

Plivo and the other providers here send L16 little-endian (unlike RFC 3551's network order), so
little-endian is the default everywhere; ``byte_order="big"`` is for providers that follow the RFC.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

import numpy as np

from .._exceptions import ConfigurationError
from ._types import BytesLike, Int16Array

__all__ = ["ByteOrder", "downmix", "pcm16_from_bytes", "pcm16_to_bytes"]

ByteOrder: TypeAlias = Literal["little", "big"]

_DTYPES: Final[dict[str, str]] = {"little": "<i2", "big": ">i2"}


def _dtype_for(byte_order: str) -> str:
    try:
        return _DTYPES[byte_order]
    except KeyError:
        raise ConfigurationError(
            f"byte_order must be 'little' or 'big', got {byte_order!r}"
        ) from None


def pcm16_from_bytes(data: BytesLike, byte_order: ByteOrder = "little") -> Int16Array:
    """View L16 bytes as native-order int16 samples (a copy only when the order differs)."""
    dtype = _dtype_for(byte_order)
    if len(data) % 2:
        raise ConfigurationError(f"PCM16 data must have an even length, got {len(data)} bytes")
    return np.frombuffer(data, dtype=dtype).astype(np.int16, copy=False)


def pcm16_to_bytes(samples: Int16Array, byte_order: ByteOrder = "little") -> bytes:
    """Serialise int16 samples as L16 bytes in ``byte_order``."""
    return samples.astype(_dtype_for(byte_order), copy=False).tobytes()


def downmix(interleaved: Int16Array, channels: int) -> Int16Array:
    """Average interleaved multi-channel samples to mono (rounding to nearest).

    Averaging, not summing, so that full-scale stereo cannot clip.
    """
    if channels < 1:
        raise ConfigurationError(f"channels must be >= 1, got {channels}")
    if channels == 1:
        return interleaved
    if interleaved.size % channels:
        raise ConfigurationError(
            f"{interleaved.size} samples do not divide into {channels} channels"
        )
    frames = interleaved.reshape(-1, channels).astype(np.int32)
    mono: Int16Array = np.rint(frames.mean(axis=1)).astype(np.int16)
    return mono
