"""DTMF generation and the streaming detector."""

from __future__ import annotations

import numpy as np
import pytest

from trio_plivo import ConfigurationError
from trio_plivo.audio import (
    DTMF_DIGITS,
    DtmfDetector,
    DtmfPress,
    demo_caller_audio,
    dtmf_tones,
    mulaw_to_pcm16,
    pcm16_to_mulaw,
    resample,
)

from .conftest import tone, tone_amplitude

RATES = [8000, 16000]
ROWS = (697, 770, 852, 941)
COLUMNS = (1209, 1336, 1477, 1633)


def detect(pcm: bytes | np.ndarray, rate: int, chunk: int | None = None) -> list[DtmfPress]:
    detector = DtmfDetector(rate)
    if chunk is None:
        return detector.feed(pcm)
    return [press for i in range(0, len(pcm), chunk) for press in detector.feed(pcm[i : i + chunk])]


def add_noise(pcm: bytes, snr_db: float, seed: int) -> np.ndarray:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    signal_power = np.mean(x[x != 0] ** 2)
    noise = np.random.default_rng(seed).normal(
        0, np.sqrt(signal_power / 10 ** (snr_db / 10)), x.size
    )
    return np.clip(np.rint(x + noise), -32768, 32767).astype(np.int16)


def test_generator_puts_the_right_tones_in_each_digit() -> None:
    for rate in RATES:
        for row_index, keys in enumerate(("123A", "456B", "789C", "*0#D")):
            for column_index, key in enumerate(keys):
                samples = np.frombuffer(dtmf_tones(key, rate, tone_ms=50), dtype="<i2")
                assert samples.size == rate // 20
                levels = {f: tone_amplitude(samples, f, rate) for f in ROWS + COLUMNS}
                strongest = sorted(levels, key=levels.__getitem__)[-2:]
                assert sorted(strongest) == [ROWS[row_index], COLUMNS[column_index]]


def test_generator_timing_amplitude_and_twist() -> None:
    pcm = np.frombuffer(
        dtmf_tones("1#", 8000, tone_ms=70, gap_ms=30, amplitude=0.4, twist_db=6), "<i2"
    )
    assert pcm.size == 560 + 240 + 560
    assert np.all(pcm[560:800] == 0)
    assert np.abs(pcm).max() <= 0.4 * 32767 + 1
    twist = 20 * np.log10(
        tone_amplitude(pcm[:560], 1209, 8000) / tone_amplitude(pcm[:560], 697, 8000)
    )
    assert twist == pytest.approx(6, abs=0.1)
    assert dtmf_tones("", 8000) == b""
    assert dtmf_tones("abcd", 8000) == dtmf_tones("ABCD", 8000)


@pytest.mark.parametrize("rate", RATES)
def test_all_sixteen_digits_detected_in_order_with_start_times(rate: int) -> None:
    pcm = dtmf_tones(DTMF_DIGITS, rate, tone_ms=60, gap_ms=60)
    presses = detect(pcm, rate, chunk=2 * rate // 50)  # 20 ms frames
    assert "".join(p.digit for p in presses) == DTMF_DIGITS
    for index, press in enumerate(presses):
        assert press.sample_rate == rate
        assert press.start_seconds == pytest.approx(index * 0.120, abs=0.026)  # one window


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("snr_db", [20, 12])
def test_digits_survive_noise_and_a_mulaw_round_trip(rate: int, snr_db: float) -> None:
    noisy = add_noise(dtmf_tones(DTMF_DIGITS, rate, tone_ms=50, gap_ms=50), snr_db, seed=rate)
    if rate != 8000:
        # The telephone path: down to 8 kHz, µ-law, back up.
        narrow = resample(noisy, rate, 8000)
        noisy = resample(
            np.frombuffer(mulaw_to_pcm16(pcm16_to_mulaw(narrow.tobytes())), "<i2"), 8000, rate
        )
    else:
        noisy = np.frombuffer(mulaw_to_pcm16(pcm16_to_mulaw(noisy.tobytes())), "<i2")
    assert "".join(p.digit for p in detect(noisy, rate)) == DTMF_DIGITS


@pytest.mark.parametrize("rate", RATES)
def test_chunk_size_does_not_matter(rate: int) -> None:
    pcm = dtmf_tones("159D", rate, tone_ms=45, gap_ms=45)
    whole = detect(pcm, rate)
    assert [p.digit for p in whole] == list("159D")
    for chunk in (2, 34, 322, 4096):
        assert detect(pcm, rate, chunk=chunk) == whole


@pytest.mark.parametrize("rate", RATES)
def test_the_same_digit_twice_counts_twice(rate: int) -> None:
    assert [p.digit for p in detect(dtmf_tones("55", rate, tone_ms=80, gap_ms=60), rate)] == [
        "5",
        "5",
    ]
    # ... and one long press counts once.
    assert [p.digit for p in detect(dtmf_tones("5", rate, tone_ms=1000), rate)] == ["5"]


@pytest.mark.parametrize("rate", RATES)
def test_minimum_duration(rate: int) -> None:
    assert len(detect(dtmf_tones("7" * 5, rate, tone_ms=40, gap_ms=60), rate)) == 5
    assert detect(dtmf_tones("7" * 5, rate, tone_ms=20, gap_ms=60), rate) == []


@pytest.mark.parametrize("rate", RATES)
def test_twist_limits(rate: int) -> None:
    for twist in (-6, 6):
        assert len(detect(dtmf_tones("369", rate, twist_db=twist), rate)) == 3
    for twist in (-12, 12):
        assert detect(dtmf_tones("369", rate, twist_db=twist), rate) == []


@pytest.mark.parametrize("rate", RATES)
def test_no_false_positives_on_single_tones(rate: int) -> None:
    for frequency in ROWS + COLUMNS:
        assert detect(tone(frequency, rate, 1.0), rate) == []


@pytest.mark.parametrize("rate", RATES)
def test_no_false_positives_on_noise(rate: int) -> None:
    rng = np.random.default_rng(7)
    for level in (300, 3000, 12000):
        noise = np.clip(rng.normal(0, level, rate * 3), -32768, 32767).astype(np.int16)
        assert detect(noise, rate) == []


def vowels(rate: int, low: float, high: float, seed: int, seconds: float = 4) -> np.ndarray:
    """Gliding voiced speech from a cascade formant model (Klatt-style): harmonics of a pitch
    moving over ``low``-``high`` Hz with a -6 dB/octave source tilt, shaped by three formant
    resonators sweeping the vowel space, so harmonics cross every DTMF frequency."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rate * seconds)) / rate
    pitch = (low + high) / 2 + (high - low) / 2 * np.sin(2 * np.pi * rng.uniform(0.2, 0.8) * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    formants = [
        (550 + 250 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t), 90),
        (1500 + 600 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t + 1), 110),
        (2500 + 200 * np.sin(2 * np.pi * rng.uniform(0.2, 0.8) * t + 2), 150),
    ]
    signal = np.zeros_like(t)
    for k in range(1, int(rate / 2 / low) + 1):
        fk = k * pitch
        gain = 1.0 / k
        for centre, bandwidth in formants:
            gain = gain * centre**2 / np.sqrt((centre**2 - fk**2) ** 2 + (bandwidth * fk) ** 2)
        signal += np.where(fk < rate / 2, gain * np.sin(k * phase), 0)
    return np.rint(signal / np.abs(signal).max() * 16000).astype(np.int16)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(("low", "high"), [(85, 155), (165, 255), (220, 330)])
def test_no_false_positives_on_speech_like_signals(rate: int, low: float, high: float) -> None:
    for seed in range(2):
        assert detect(vowels(rate, low, high, seed), rate) == []


def test_no_false_positives_on_recorded_speech() -> None:
    speech = demo_caller_audio()  # says "press five", but no tone is played
    assert detect(speech.pcm, 8000) == []
    mulaw = mulaw_to_pcm16(pcm16_to_mulaw(speech.pcm))
    assert detect(resample(np.frombuffer(mulaw, "<i2"), 8000, 16000), 16000) == []


def test_reset_and_sample_counting() -> None:
    detector = DtmfDetector(8000)
    first = detector.feed(dtmf_tones("1", 8000, tone_ms=30))  # not yet certain
    assert first == []
    detector.reset()
    assert detector.samples_seen == 0
    presses = detector.feed(bytes(1600) + dtmf_tones("2", 8000))
    assert [p.digit for p in presses] == ["2"]
    assert presses[0].start_sample == pytest.approx(800, abs=205)


@pytest.mark.parametrize(
    "call",
    [
        lambda: dtmf_tones("12x", 8000),
        lambda: dtmf_tones("1", 3000),
        lambda: dtmf_tones("1", 8000, amplitude=1.5),
        lambda: dtmf_tones("1", 8000, tone_ms=0),
        lambda: DtmfDetector(3000),
        lambda: DtmfDetector(8000, min_tone_fraction=0),
    ],
)
def test_bad_settings(call: object) -> None:
    with pytest.raises(ConfigurationError):
        call()  # type: ignore[operator]
