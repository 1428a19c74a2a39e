"""Regenerate ``trio_plivo/data/caller_hello.wav``, the demo caller's voice.

Synthesises the sentence with the ``espeak-ng`` command-line tool (Debian: ``apt-get install
espeak-ng``), then with trio_plivo's own audio code: trims silence at both ends, resamples
22.05 kHz -> 8 kHz (soxr HQ) and normalises the peak to -3 dBFS. Output is 8 kHz mono PCM16.

Run from the repository root: ``python tools/make_caller_wav.py``. The bytes depend on the
espeak-ng version (1.51 made the committed file).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from trio_plivo.audio import read_wav, resample, write_wav

TEXT = "Hello, this is a test call. Press five for a checkpoint."
OUTPUT = Path(__file__).resolve().parent.parent / "trio_plivo" / "data" / "caller_hello.wav"
RATE = 8000
SILENCE_THRESHOLD = 32768 * 10 ** (-45 / 20)  # samples quieter than -45 dBFS count as silence
EDGE_PADDING_S = 0.1  # keep a little silence so the first word is not clipped
PEAK = 32767 * 10 ** (-3 / 20)


def synthesise(text: str) -> bytes:
    """The espeak-ng WAV (22,050 Hz mono PCM16) for ``text``."""
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng not found: apt-get install -y espeak-ng")
    result = subprocess.run(
        ["espeak-ng", "-v", "en-us", "--stdout", text], check=True, capture_output=True
    )
    return result.stdout


def main() -> None:
    source = read_wav(synthesise(TEXT), mono=True)
    samples = source.samples
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_THRESHOLD)
    pad = round(EDGE_PADDING_S * source.sample_rate)
    trimmed = samples[max(loud[0] - pad, 0) : loud[-1] + pad + 1]
    resampled = resample(trimmed, source.sample_rate, RATE).astype(np.float64)
    scaled = np.rint(resampled * (PEAK / np.abs(resampled).max())).astype("<i2")
    write_wav(OUTPUT, scaled.tobytes(), sample_rate=RATE)
    print(f"wrote {OUTPUT} ({scaled.size / RATE:.2f} s, {OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
