"""Decoding the caller's audio at another rate gives 20 ms out for every 20 ms in, at once,
and the audio is right (issue #15, defect 7)."""

from __future__ import annotations

import numpy as np
import pytest

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat
from trio_plivo.audio import WireDecoder, encode_wire


def tone(rate: int, seconds: float, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16)


@pytest.mark.parametrize(
    ("source", "rate"),
    [(MULAW_8K, 16000), (L16_8K, 16000), (L16_16K, 8000), (MULAW_8K, 24000), (L16_16K, 24000)],
)
def test_every_frame_gives_its_share_at_once(source: AudioFormat, rate: int) -> None:
    decoder = WireDecoder(source, rate)
    frame = source.sample_rate // 50
    wire = encode_wire(tone(source.sample_rate, 1.0), source)
    step = len(wire) // 50
    sizes = [len(decoder.decode(wire[i : i + step])) // 2 for i in range(0, len(wire), step)]
    share = rate // 50
    # The first frame is short by the filter's delay (about a millisecond), every other one
    # is exactly 20 ms: nothing held back to come later in a burst.
    assert share - rate // 500 <= sizes[0] <= share
    assert set(sizes[1:]) == {share}
    assert frame  # (the source frame is 20 ms too)
    tail = len(decoder.flush()) // 2
    assert sum(sizes) + tail == rate  # and nothing lost: one second in, one second out


def test_the_decoded_tone_matches_a_reference_tone() -> None:
    decoder = WireDecoder(L16_8K, 16000)
    pcm = encode_wire(tone(8000, 1.0), L16_8K)
    out = np.frombuffer(
        b"".join(decoder.decode(pcm[i : i + 320]) for i in range(0, len(pcm), 320))
        + decoder.flush(),
        "<i2",
    ).astype(np.float64)
    reference = tone(16000, 1.0).astype(np.float64)
    inner = slice(400, -400)  # away from the edges of the signal
    noise = out[inner] - reference[inner]
    snr_db = 10 * np.log10(np.mean(reference[inner] ** 2) / np.mean(noise**2))
    assert snr_db > 60  # in step with the reference (no delay), and clean


def test_soxr_can_still_be_asked_for() -> None:
    decoder = WireDecoder(MULAW_8K, 16000, quality="HQ")
    wire = encode_wire(tone(8000, 0.2), MULAW_8K)
    first = decoder.decode(wire[:160])
    assert first == b""  # soxr holds its first output back
