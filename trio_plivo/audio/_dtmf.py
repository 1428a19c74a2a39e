"""DTMF (touch-tone) generation and a streaming detector for in-band digits.

Some callers' keypresses arrive only as tones in the audio, not as ``dtmf`` events (the provider
missed them, or the call goes through a gateway that does not signal them), and some IVRs on
the far side of an outbound call need tones played to them.

The detector evaluates the eight DTMF frequencies on overlapping ~25.6 ms windows (the
classic 205-sample block at 8 kHz, scaled with the rate) every quarter window. Per frequency
this is exactly what the Goertzel algorithm computes, evaluated for all windows of a chunk in
one matrix product instead of a per-sample Python loop. A window holds a digit when exactly one
row and one column tone stand out:

* both tones above a minimum level;
* twist (level difference between the two tones) within ``max_twist_db``;
* each tone ``min_peak_ratio_db`` above the other tones of its group (rejects speech formants
  and chords);
* the two tones carry at least ``min_tone_fraction`` of the window's energy (rejects noise and
  speech, whose energy is spread over many frequencies).

A key press is reported once, when its digit has held for two consecutive windows (about 32 ms
of tone), and released after two windows without it, so a 40 ms tone is detected and a repeated
digit needs a gap of about 40 ms to count twice.
"""

from __future__ import annotations

from typing import Final

import attrs
import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from .._exceptions import ConfigurationError
from ._pcm import pcm16_from_bytes, pcm16_to_bytes
from ._types import BytesLike, Int16Array

__all__ = ["DTMF_DIGITS", "DtmfDetector", "DtmfPress", "dtmf_tones"]

ROW_FREQUENCIES: Final = (697.0, 770.0, 852.0, 941.0)
COLUMN_FREQUENCIES: Final = (1209.0, 1336.0, 1477.0, 1633.0)
_KEYPAD: Final = ("123A", "456B", "789C", "*0#D")

#: Every DTMF key, in keypad order.
DTMF_DIGITS: Final = "".join(_KEYPAD)

_KEY_TONES: Final[dict[str, tuple[float, float]]] = {
    key: (ROW_FREQUENCIES[row], COLUMN_FREQUENCIES[col])
    for row, keys in enumerate(_KEYPAD)
    for col, key in enumerate(keys)
}

_WINDOW_SECONDS: Final = 205 / 8000  # frequency resolution ~39 Hz: rows are 73-89 Hz apart
_HITS_TO_PRESS: Final = 3
_MISSES_TO_RELEASE: Final = 4


def dtmf_tones(
    digits: str,
    rate: int = 8000,
    *,
    tone_ms: float = 100.0,
    gap_ms: float = 100.0,
    amplitude: float = 0.5,
    twist_db: float = 0.0,
) -> bytes:
    """Synthesise DTMF ``digits`` (``0-9 * # A-D``) as little-endian PCM16 mono at ``rate``.

    Each digit is ``tone_ms`` of its row + column tones, digits are separated by ``gap_ms`` of
    silence (none after the last). ``amplitude`` is the combined peak as a fraction of full
    scale; ``twist_db`` makes the column tone that many dB louder than the row tone (negative:
    quieter), for testing detectors.
    """
    if not isinstance(rate, int) or rate <= 0:
        raise ConfigurationError(f"rate must be a positive integer, got {rate!r}")
    if not 0.0 < amplitude <= 1.0:
        raise ConfigurationError(f"amplitude must be in (0, 1], got {amplitude!r}")
    if tone_ms <= 0 or gap_ms < 0:
        raise ConfigurationError("tone_ms must be > 0 and gap_ms >= 0")
    keys = digits.upper()
    unknown = sorted(set(keys) - set(DTMF_DIGITS))
    if unknown:
        raise ConfigurationError(f"not DTMF digits: {''.join(unknown)!r} (valid: {DTMF_DIGITS})")
    # Nyquist: the highest column tone must be representable.
    if rate <= 2 * COLUMN_FREQUENCIES[-1]:
        raise ConfigurationError(f"rate {rate} Hz is too low for DTMF (needs > 3266 Hz)")

    column_gain = 10 ** (twist_db / 20)
    peak = 32767 * amplitude / (1 + column_gain)  # row tone peak; the sum never exceeds amplitude
    t = np.arange(round(rate * tone_ms / 1000)) / rate
    gap = np.zeros(round(rate * gap_ms / 1000))
    pieces: list[npt.NDArray[np.float64]] = []
    for index, key in enumerate(keys):
        row, column = _KEY_TONES[key]
        if index:
            pieces.append(gap)
        pieces.append(
            peak * (np.sin(2 * np.pi * row * t) + column_gain * np.sin(2 * np.pi * column * t))
        )
    signal = np.concatenate(pieces) if pieces else np.zeros(0)
    return pcm16_to_bytes(np.rint(signal).astype(np.int16))


@attrs.frozen
class DtmfPress:
    """One detected key press: ``digit`` starting at sample ``start_sample`` of the stream
    (counted from the first sample fed to the detector, accurate to about one window)."""

    digit: str
    start_sample: int
    sample_rate: int

    @property
    def start_seconds(self) -> float:
        """The press's start, in seconds since the first sample fed."""
        return self.start_sample / self.sample_rate


class DtmfDetector:
    """Streaming DTMF detector for mono PCM16 at ``rate`` Hz.

    Feed chunks of any size with :meth:`feed`; it returns the presses that became certain in
    that chunk, each reported exactly once. Thresholds are keyword arguments; the defaults
    follow common telephony practice (ITU-T Q.24 ranges).
    """

    def __init__(
        self,
        rate: int = 8000,
        *,
        min_level_dbfs: float = -40.0,
        max_twist_db: float = 8.0,
        min_peak_ratio_db: float = 6.0,
        min_tone_fraction: float = 0.75,
    ) -> None:
        if not isinstance(rate, int) or rate <= 2 * COLUMN_FREQUENCIES[-1]:
            raise ConfigurationError(f"rate must be an integer above 3266 Hz, got {rate!r}")
        if not 0.0 < min_tone_fraction <= 1.0:
            raise ConfigurationError(
                f"min_tone_fraction must be in (0, 1], got {min_tone_fraction!r}"
            )
        self.rate: Final = rate
        self._window = round(_WINDOW_SECONDS * rate)
        self._hop = self._window // 4
        n = np.arange(self._window)
        frequencies = np.array(ROW_FREQUENCIES + COLUMN_FREQUENCIES)
        phase = 2 * np.pi * np.outer(n, frequencies) / rate
        # cos and sin halves side by side: one real matrix product gives Re and Im of all 8 bins.
        self._basis: npt.NDArray[np.float64] = np.hstack([np.cos(phase), np.sin(phase)])
        # A sinusoid of peak A fills a window with energy A**2 * N / 2.
        min_peak = 32768 * 10 ** (min_level_dbfs / 20)
        self._min_energy = min_peak**2 * self._window / 2
        self._max_twist = 10 ** (max_twist_db / 10)
        self._peak_ratio = 10 ** (min_peak_ratio_db / 10)
        self._min_fraction = min_tone_fraction
        self.reset()

    def reset(self) -> None:
        """Forget buffered audio and any key being held; sample counting restarts at 0."""
        self._buffer: npt.NDArray[np.float64] = np.zeros(0)
        self._buffer_start = 0  # absolute sample index of _buffer[0]
        self._active: str | None = None
        self._misses = 0
        self._candidate: str | None = None
        self._candidate_start = 0
        self._hits = 0

    @property
    def samples_seen(self) -> int:
        """Samples fed since construction or :meth:`reset`."""
        return self._buffer_start + self._buffer.size

    def feed(self, pcm16: BytesLike | Int16Array) -> list[DtmfPress]:
        """Add PCM16 (little-endian bytes or an int16 array) and return new key presses."""
        samples = pcm16 if isinstance(pcm16, np.ndarray) else pcm16_from_bytes(pcm16)
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float64)])
        if self._buffer.size < self._window:
            return []
        windows = sliding_window_view(self._buffer, self._window)[:: self._hop]
        digits = self._classify(windows)
        presses = []
        for index, digit in enumerate(digits):
            press = self._step(digit, self._buffer_start + index * self._hop)
            if press is not None:
                presses.append(press)
        consumed = len(digits) * self._hop
        self._buffer = self._buffer[consumed:]
        self._buffer_start += consumed
        return presses

    def _classify(self, windows: npt.NDArray[np.float64]) -> list[str | None]:
        """The digit each window holds, or None."""
        projections = windows @ self._basis
        half = self._window / 2
        # Energy of each tone in the window: |X(f)|**2 * 2 / N.
        tone_energy = (projections[:, :8] ** 2 + projections[:, 8:] ** 2) / half
        total_energy = np.einsum("ij,ij->i", windows, windows)
        rows, columns = tone_energy[:, :4], tone_energy[:, 4:]
        best_row, best_column = rows.argmax(axis=1), columns.argmax(axis=1)
        result: list[str | None] = []
        for i in range(len(windows)):
            r, c = int(best_row[i]), int(best_column[i])
            holds = self._is_digit(rows[i], r, columns[i], c, float(total_energy[i]))
            result.append(_KEYPAD[r][c] if holds else None)
        return result

    def _is_digit(
        self,
        rows: npt.NDArray[np.float64],
        r: int,
        columns: npt.NDArray[np.float64],
        c: int,
        total: float,
    ) -> bool:
        row_energy, column_energy = float(rows[r]), float(columns[c])
        if min(row_energy, column_energy) < self._min_energy:
            return False
        if max(row_energy / column_energy, column_energy / row_energy) > self._max_twist:
            return False
        others = np.delete(rows, r).max(), np.delete(columns, c).max()
        if (
            row_energy < self._peak_ratio * others[0]
            or column_energy < self._peak_ratio * others[1]
        ):
            return False
        return row_energy + column_energy >= self._min_fraction * total

    def _step(self, digit: str | None, window_start: int) -> DtmfPress | None:
        """Advance the press/release state machine by one window."""
        if digit is not None and digit == self._active:
            self._misses = 0
            return None
        if self._active is not None:
            self._misses += 1
            if self._misses >= _MISSES_TO_RELEASE:
                self._active = None
        if digit is None:
            self._candidate, self._hits = None, 0
            return None
        if digit == self._candidate:
            self._hits += 1
        else:
            self._candidate, self._candidate_start, self._hits = digit, window_start, 1
        if self._active is None and self._hits >= _HITS_TO_PRESS:
            self._active, self._misses = digit, 0
            self._candidate, self._hits = None, 0
            return DtmfPress(digit, self._candidate_start, self.rate)
        return None

    def __repr__(self) -> str:
        return f"DtmfDetector(rate={self.rate}, holding={self._active!r})"
