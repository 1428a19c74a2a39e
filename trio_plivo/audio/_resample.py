"""Streaming resampling of mono PCM16 with soxr, keeping filter state across chunks.

Why streaming: resampling each 20 ms chunk on its own restarts the anti-aliasing filter at every
chunk edge, which is heard as clicks or a buzz at 50 Hz. :class:`Resampler` wraps
``soxr.ResampleStream`` so consecutive chunks are filtered as one signal.

soxr compensates its filter's group delay (output sample ``k`` corresponds to input time
``k / out_rate``) but **holds output back**: the first output appears only after a few chunks
(typically 40-100 ms of input at ``"HQ"``) and then comes in bursts. Nothing is lost: call
:meth:`Resampler.flush` at the end of an utterance to get the tail, and the total output is then
``round(len(input) * out_rate / in_rate)`` samples.
"""

from __future__ import annotations

from typing import Final, Literal, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import soxr

from .._exceptions import ConfigurationError
from ._types import Int16Array

__all__ = ["Quality", "Resampler", "resample"]

#: soxr's quality presets, fastest first. ``"QQ"`` has no anti-aliasing filter: avoid it for
#: downsampling TTS output to 8 kHz, as it folds 4-12 kHz energy into the telephone band.
Quality: TypeAlias = Literal["QQ", "LQ", "MQ", "HQ", "VHQ"]

_QUALITIES: Final = ("QQ", "LQ", "MQ", "HQ", "VHQ")
_Float32Array: TypeAlias = npt.NDArray[np.float32]
_NO_INPUT: Final = np.zeros(0, dtype=np.float32)
_NO_OUTPUT: Final = np.zeros(0, dtype=np.int16)


class _SoxrStream(Protocol):
    """The part of ``soxr.ResampleStream`` we use (soxr ships no type information)."""

    def resample_chunk(self, x: _Float32Array, last: bool = False) -> _Float32Array: ...

    def clear(self) -> None: ...


def _check(in_rate: int, out_rate: int, quality: str) -> None:
    for name, rate in (("in_rate", in_rate), ("out_rate", out_rate)):
        if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
            raise ConfigurationError(f"{name} must be a positive integer, got {rate!r}")
    if quality not in _QUALITIES:
        raise ConfigurationError(f"quality must be one of {_QUALITIES}, got {quality!r}")


def _to_float(samples: Int16Array) -> _Float32Array:
    return samples.astype(np.float32)


def _to_int16(samples: _Float32Array) -> Int16Array:
    # Overshoot near full scale (filter ringing) is clipped, not wrapped around.
    out: Int16Array = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
    return out


def resample(
    samples: Int16Array, in_rate: int, out_rate: int, *, quality: Quality = "HQ"
) -> Int16Array:
    """Resample a whole signal in one call (for prompts and files, not for streams).

    ``samples`` is ``(frames,)`` or ``(frames, channels)`` int16.
    """
    _check(in_rate, out_rate, quality)
    if in_rate == out_rate:
        return samples
    return _to_int16(soxr.resample(_to_float(samples), in_rate, out_rate, quality=quality))


class Resampler:
    """Stateful mono PCM16 resampler for a stream of chunks of any size.

    Feed chunks to :meth:`process`; call :meth:`flush` at the end of an utterance to drain the
    samples soxr holds back, and :meth:`reset` to drop them (barge-in: the buffered audio must
    not leak into the next utterance). After either, the resampler starts a fresh stream.
    Equal rates take a fast path that returns the input unchanged and holds nothing back.

    soxr runs in float32 and the result is rounded and clipped here: soxr's own int16 output
    adds dither, which turns digital silence into +-1 LSB noise and makes the output differ
    from run to run.
    """

    def __init__(self, in_rate: int, out_rate: int, *, quality: Quality = "HQ") -> None:
        _check(in_rate, out_rate, quality)
        self.in_rate: Final = in_rate
        self.out_rate: Final = out_rate
        self.quality: Final = quality
        self._stream: _SoxrStream | None = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)
        )

    @property
    def is_identity(self) -> bool:
        """True when the rates are equal and samples pass through untouched."""
        return self._stream is None

    def process(self, samples: Int16Array) -> Int16Array:
        """Resample the next chunk; may return fewer samples than expected (or none) because
        soxr holds output back until its filter has enough input."""
        if self._stream is None:
            return samples
        return _to_int16(self._stream.resample_chunk(_to_float(samples)))

    def flush(self) -> Int16Array:
        """Return the held-back tail of the current stream and start a new stream."""
        if self._stream is None:
            return _NO_OUTPUT
        tail = self._stream.resample_chunk(_NO_INPUT, last=True)
        self._stream.clear()
        return _to_int16(tail)

    def reset(self) -> None:
        """Drop everything held back and start a new stream (use on ``clear()``/barge-in)."""
        if self._stream is not None:
            self._stream.clear()

    def __repr__(self) -> str:
        return f"Resampler({self.in_rate}, {self.out_rate}, quality={self.quality!r})"
