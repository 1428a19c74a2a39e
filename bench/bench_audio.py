"""Cost of converting ONE 20 ms frame on each call audio path, against stdlib ``audioop``.

Run: ``python bench/bench_audio.py``. Prints min and median microseconds per frame over
several timeit repeats, the share of the 20 ms real-time budget (target < 1 %), and the ratio
to ``audioop`` doing the same operations in the same run (``audioop.ratecv`` has no
anti-aliasing filter, so it is a speed baseline, not a quality one). ``audioop`` is deprecated
in 3.11-3.12 and gone in 3.13; without it only our numbers are printed.
"""

from __future__ import annotations

import statistics
import timeit
import warnings
from collections.abc import Callable
from itertools import cycle
from types import ModuleType

import numpy as np

from trio_plivo import L16_16K, MULAW_8K
from trio_plivo.audio import (
    DtmfDetector,
    WireDecoder,
    WireEncoder,
    mulaw_to_pcm16,
    pcm16_to_mulaw,
)

FRAME_MS = 20
BUDGET_US = FRAME_MS * 1000
REPEATS = 7
NUMBER = 2000


def _audioop() -> ModuleType | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop
        except ImportError:
            return None
    return audioop


def frames(rate: int, count: int = 50) -> list[bytes]:
    """``count`` consecutive 20 ms PCM16 frames of speech-band content at ``rate``."""
    t = np.arange(rate * FRAME_MS * count // 1000) / rate
    signal = 9000 * np.sin(2 * np.pi * 440 * t) + 4000 * np.sin(2 * np.pi * 2300 * t)
    pcm = np.rint(signal).astype("<i2").tobytes()
    size = rate * FRAME_MS // 1000 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def per_frame_us(step: Callable[[], object]) -> tuple[float, float]:
    """(min, median) microseconds per call."""
    runs = timeit.repeat(step, repeat=REPEATS, number=NUMBER)
    per_call = [run / NUMBER * 1e6 for run in runs]
    return min(per_call), statistics.median(per_call)


def cases(
    audioop: ModuleType | None,
) -> list[tuple[str, Callable[[], object], Callable[[], object] | None]]:
    mulaw_frames = cycle([pcm16_to_mulaw(f) for f in frames(8000)])
    tts_frames = cycle(frames(24000))

    decoder = WireDecoder(MULAW_8K, 16000)
    to_mulaw = WireEncoder(24000, MULAW_8K)
    to_l16 = WireEncoder(24000, L16_16K)
    ours: list[tuple[str, Callable[[], object]]] = [
        ("µ-law 8k -> PCM16 16k (inbound, STT)", lambda: decoder.decode(next(mulaw_frames))),
        ("PCM16 24k -> µ-law 8k (TTS, µ-law call)", lambda: to_mulaw.encode(next(tts_frames))),
        ("PCM16 24k -> L16 16k (TTS, L16 call)", lambda: to_l16.encode(next(tts_frames))),
        ("µ-law 8k -> PCM16 8k (codec only)", lambda: mulaw_to_pcm16(next(mulaw_frames))),
    ]
    pcm_frames = cycle(frames(8000))
    detector = DtmfDetector(8000)
    extra: list[tuple[str, Callable[[], object], Callable[[], object] | None]] = [
        ("DTMF detector, PCM16 8k (no audioop twin)", lambda: detector.feed(next(pcm_frames)), None)
    ]
    if audioop is None:
        return [(name, fn, None) for name, fn in ours] + extra

    state: dict[str, object] = {"in": None, "mu": None, "l16": None}

    def ref_inbound() -> bytes:
        pcm = audioop.ulaw2lin(next(mulaw_frames), 2)
        out, state["in"] = audioop.ratecv(pcm, 2, 1, 8000, 16000, state["in"])
        return out

    def ref_mulaw() -> bytes:
        out, state["mu"] = audioop.ratecv(next(tts_frames), 2, 1, 24000, 8000, state["mu"])
        return audioop.lin2ulaw(out, 2)

    def ref_l16() -> bytes:
        out, state["l16"] = audioop.ratecv(next(tts_frames), 2, 1, 24000, 16000, state["l16"])
        return out

    refs = [ref_inbound, ref_mulaw, ref_l16, lambda: audioop.ulaw2lin(next(mulaw_frames), 2)]
    return [(name, fn, ref) for (name, fn), ref in zip(ours, refs, strict=True)] + extra


def main() -> None:
    audioop = _audioop()
    header = f"{'path (one 20 ms frame)':42} {'min µs':>8} {'med µs':>8} {'% budget':>9}"
    if audioop is not None:
        header += f" {'audioop min':>12} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for name, ours, ref in cases(audioop):
        low, median = per_frame_us(ours)
        line = f"{name:42} {low:8.2f} {median:8.2f} {100 * median / BUDGET_US:8.3f}%"
        if ref is not None:
            ref_low, _ = per_frame_us(ref)
            line += f" {ref_low:12.2f} {low / ref_low:6.1f}x"
        print(line)
    print(f"\n{REPEATS} repeats x {NUMBER} frames; budget = {BUDGET_US} µs per frame.")


if __name__ == "__main__":
    main()
