"""Build the agent's audio data with espeak-ng (needs the ``tts`` extra: espeakng-loader).

* ``trio_plivo/agent/_offline/prompts.wav`` + ``prompts.json``: every phrase of the offline
  menu (``rules.PHRASES``), 8 kHz µ-law, silence trimmed, indexed by sample offsets. The core
  install speaks with these when espeak-ng itself is not installed.
* ``tests/data/agent/*.wav``: short caller utterances (8 kHz PCM16) for tests.

Reproducible: same espeak-ng (1.52 in espeakng-loader 0.2.4), same output. Run from the
repository root: ``python tools/make_agent_wavs.py``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from trio_plivo.agent._offline.espeak_tts import synthesize_blocking
from trio_plivo.agent._offline.rules import PHRASES
from trio_plivo.audio import encode_mulaw, resample, write_wav

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ROOT / "trio_plivo" / "agent" / "_offline"
TEST_DATA = ROOT / "tests" / "data" / "agent"
RATE = 8000

CALLER_UTTERANCES = {
    "caller_one.wav": "one",
    "caller_goodbye.wav": "goodbye",
    "caller_question.wav": "What is the weather like today?",
}


def speak(text: str) -> np.ndarray:
    pcm = np.frombuffer(synthesize_blocking(text, words_per_minute=170), dtype="<i2")
    samples = resample(pcm.astype(np.int16), 22050, RATE)
    loud = np.flatnonzero(np.abs(samples) > 300)
    if loud.size == 0:
        return samples[:0]
    pad = RATE // 100  # keep 10 ms either side of the speech
    return samples[max(0, loud[0] - pad) : loud[-1] + pad]


def write_mulaw_wav(path: Path, samples: np.ndarray) -> None:
    codes = encode_mulaw(samples).tobytes()
    fmt = struct.pack("<HHIIHHHH", 7, 1, RATE, RATE, 1, 8, 2, 0)  # WAVE_FORMAT_MULAW, cbSize 0
    fact = struct.pack("<I", len(codes))
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"fact"
        + struct.pack("<I", 4)
        + fact
        + b"data"
        + struct.pack("<I", len(codes))
        + codes
        + (b"\0" if len(codes) % 2 else b"")
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def make_prompts() -> None:
    clips: list[np.ndarray] = []
    index: dict[str, tuple[int, int]] = {}
    position = 0
    for phrase in dict.fromkeys(PHRASES):
        samples = speak(phrase)
        index[phrase] = (position, position + len(samples))
        clips.append(samples)
        position += len(samples)
    write_mulaw_wav(PROMPTS / "prompts.wav", np.concatenate(clips))
    (PROMPTS / "prompts.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"prompts: {len(index)} phrases, {position / RATE:.1f} s")


def make_test_wavs() -> None:
    TEST_DATA.mkdir(parents=True, exist_ok=True)
    for name, text in CALLER_UTTERANCES.items():
        samples = speak(text)
        write_wav(TEST_DATA / name, samples.astype("<i2").tobytes(), sample_rate=RATE)
        print(f"{name}: {len(samples) / RATE:.2f} s")


if __name__ == "__main__":
    make_prompts()
    make_test_wavs()
