"""A streaming resampler that holds nothing back: every chunk in gives its share out.

soxr (:mod:`._resample`) filters beautifully but releases its output in bursts (nothing for
three to five 20 ms frames, then 60-100 ms at once), which makes a speech recogniser fed
frame by frame hear the caller up to ~120 ms late. This is a plain polyphase FIR (a
Kaiser-windowed sinc, numpy only) run causally: an output sample is produced as soon as the
input it needs has arrived, so a 20 ms frame in gives 20 ms out (± one sample), after a
fixed delay of about a millisecond that :meth:`flush` gives back at the end. Built for the
rational ratios telephony uses (8, 16, 24, 48 kHz and the like).
"""

from __future__ import annotations

from math import gcd
from typing import Final

import numpy as np
import numpy.typing as npt

from .._exceptions import ConfigurationError
from ._types import Int16Array

__all__ = ["LowLatencyResampler"]

#: Zero crossings of the sinc on each side: the filter's length, and so its sharpness.
_ZERO_CROSSINGS: Final = 16
#: Kaiser window shape: about 80 dB of stop-band attenuation.
_KAISER_BETA: Final = 8.0
#: The pass band ends this fraction of the way to the lower Nyquist frequency.
_CUTOFF: Final = 0.92
_MAX_FACTOR: Final = 64

_Float: Final = np.float64


class LowLatencyResampler:
    """Mono PCM16 from ``in_rate`` to ``out_rate``, chunk by chunk, without hold-back.

    Same methods as :class:`~trio_plivo.audio.Resampler` (``process``, ``flush``, ``reset``).
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        for name, rate in (("in_rate", in_rate), ("out_rate", out_rate)):
            if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
                raise ConfigurationError(f"{name} must be a positive integer, got {rate!r}")
        common = gcd(in_rate, out_rate)
        self.up, self.down = out_rate // common, in_rate // common
        if max(self.up, self.down) > _MAX_FACTOR:
            raise ConfigurationError(
                f"{in_rate} -> {out_rate} Hz is not a simple ratio (use Resampler)"
            )
        self.in_rate: Final = in_rate
        self.out_rate: Final = out_rate
        up, down = self.up, self.down
        half = _ZERO_CROSSINGS * max(up, down)
        taps = np.arange(-half, half + 1, dtype=_Float)
        cutoff = _CUTOFF / max(up, down)  # of the upsampled rate's Nyquist
        prototype = cutoff * np.sinc(cutoff * taps) * np.kaiser(taps.size, _KAISER_BETA) * up
        # Phase p of the polyphase bank holds taps p, p + up, p + 2 up ... (time-reversed
        # below so a window of input multiplies it directly).
        per_phase = -(-prototype.size // up)
        padded = np.zeros(per_phase * up)
        padded[: prototype.size] = prototype
        self._bank: npt.NDArray[np.float64] = padded.reshape(per_phase, up).T[:, ::-1].copy()
        self._width = per_phase
        #: Output samples of filter delay, skipped at the start and given back by flush().
        self._delay = half // down
        self.reset()

    @staticmethod
    def handles(in_rate: int, out_rate: int) -> bool:
        """Whether the ratio is simple enough for this resampler (else use soxr's)."""
        common = gcd(in_rate, out_rate)
        return max(in_rate, out_rate) // common <= _MAX_FACTOR

    def reset(self) -> None:
        """Drop the history and start a new stream."""
        self._history = np.zeros(self._width - 1, dtype=_Float)
        self._consumed = 0  # input samples seen
        self._produced = 0  # output samples computed (including the skipped delay)

    def process(self, samples: Int16Array) -> Int16Array:
        """Resample the next chunk: ``len(samples) * out_rate / in_rate`` samples (± 1)."""
        if self.up == self.down:
            return samples
        buffer = np.concatenate((self._history, samples.astype(_Float)))
        self._consumed += samples.size
        out = self._compute(buffer, self._consumed)
        self._history = buffer[buffer.size - (self._width - 1) :]
        return out

    def flush(self) -> Int16Array:
        """The samples still inside the filter (its delay), then a new stream."""
        if self.up == self.down:
            return np.zeros(0, dtype=np.int16)
        tail_inputs = -(-self._delay * self.down // self.up) + 1
        expected = (self._consumed * self.up) // self.down
        out = self.process(np.zeros(tail_inputs, dtype=np.int16))
        self._consumed -= tail_inputs  # padding, not input
        missing = expected - (self._produced_visible() - out.size)
        out = out[: max(0, missing)]
        self.reset()
        return out

    def _produced_visible(self) -> int:
        return max(0, self._produced - self._delay)

    def _compute(self, buffer: npt.NDArray[np.float64], consumed: int) -> Int16Array:
        up, down = self.up, self.down
        # Output n needs upsampled input index n * down, i.e. input (n * down) // up.
        last = (consumed * up - 1) // down  # the last output whose input has arrived
        first = self._produced
        if last < first:
            return np.zeros(0, dtype=np.int16)
        offset = consumed - (buffer.size - (self._width - 1))  # input index of buffer[0]
        if down == 1:
            # Upsampling by a whole factor: every phase in turn, interleaved.
            start = first // up - offset
            count = last // up - first // up + 1
            span = buffer[start : start + count + self._width - 1]
            rows = np.stack([np.correlate(span, bank) for bank in self._bank])
            values = rows.T.reshape(-1)[first % up : first % up + last - first + 1]
        elif up == 1:
            # Downsampling by a whole factor: one filter, every down-th position.
            start = first * down - offset
            stop = last * down - offset
            values = np.correlate(buffer[start : stop + self._width], self._bank[0])[::down]
        else:
            n = np.arange(first, last + 1)
            phase = (n * down) % up
            index = (n * down) // up - offset
            rows = np.stack([np.correlate(buffer, bank) for bank in self._bank])
            values = rows[phase, index]
        self._produced = last + 1
        skip = max(0, self._delay - first)
        out: Int16Array = np.clip(np.rint(values[skip:]), -32768, 32767).astype(np.int16)
        return out
