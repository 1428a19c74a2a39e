"""Signal helpers shared by the audio tests (imported as ``from .conftest import ...``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trio_plivo.audio import Int16Array

FULL_SCALE = 32768.0


def tone(frequency: float, rate: int, seconds: float, amplitude: float = 0.5) -> Int16Array:
    """A sine at ``amplitude`` of full scale, as int16."""
    t = np.arange(round(rate * seconds)) / rate
    return np.rint(amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def rms_dbfs(samples: npt.NDArray[np.generic]) -> float:
    """RMS level relative to a full-scale sine's peak (a full-scale sine is -3 dBFS)."""
    x = np.asarray(samples, dtype=np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(x**2)) / FULL_SCALE + 1e-300))


def tone_amplitude(samples: npt.NDArray[np.generic], frequency: float, rate: int) -> float:
    """Least-squares amplitude (in sample units) of a sinusoid at exactly ``frequency``."""
    x = np.asarray(samples, dtype=np.float64)
    t = np.arange(x.size) / rate
    basis = np.column_stack([np.sin(2 * np.pi * frequency * t), np.cos(2 * np.pi * frequency * t)])
    (a, b), *_ = np.linalg.lstsq(basis, x, rcond=None)
    return float(np.hypot(a, b))


def trim(
    samples: npt.NDArray[np.generic], rate: int, seconds: float = 0.05
) -> npt.NDArray[np.generic]:
    """Drop ``seconds`` at both ends (onset/offset transients of a resampling filter)."""
    n = round(rate * seconds)
    return samples[n : samples.size - n]
