"""Resampling quality on every path a call uses, and streaming behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_plivo import ConfigurationError
from trio_plivo.audio import Int16Array, Resampler, resample

from .conftest import rms_dbfs, tone, tone_amplitude, trim

PATHS = [(24000, 8000), (44100, 8000), (22050, 16000), (16000, 8000), (8000, 16000), (48000, 16000)]


def stream(resampler: Resampler, samples: Int16Array, chunk: int) -> Int16Array:
    pieces = [resampler.process(samples[i : i + chunk]) for i in range(0, samples.size, chunk)]
    pieces.append(resampler.flush())
    return np.concatenate(pieces)


def stop_band_tone(in_rate: int, out_rate: int) -> float:
    """A frequency the output cannot represent: above its Nyquist (or, upsampling, the
    image of an input tone, which must not appear)."""
    if out_rate < in_rate:
        # 30 % into the band that must go; avoids frequencies that alias exactly onto DC.
        return out_rate / 2 + 0.3 * (in_rate / 2 - out_rate / 2)
    return in_rate * 3 / 8


@pytest.mark.parametrize(("in_rate", "out_rate"), PATHS)
def test_out_of_band_energy_attenuated_60_db(in_rate: int, out_rate: int) -> None:
    frequency = stop_band_tone(in_rate, out_rate)
    source = tone(frequency, in_rate, 1.0)
    out = stream(Resampler(in_rate, out_rate), source, in_rate // 50)
    if out_rate < in_rate:
        # Everything left in the output is aliasing.
        attenuation = rms_dbfs(source) - rms_dbfs(trim(out, out_rate))
    else:
        # The tone is legitimately there; its image at out_rate/2 + (out_rate/2 - f) is not.
        image = in_rate - frequency
        attenuation = 20 * np.log10(
            tone_amplitude(trim(out, out_rate), frequency, out_rate)
            / tone_amplitude(trim(out, out_rate), image, out_rate)
        )
    assert attenuation > 60


@pytest.mark.parametrize(("in_rate", "out_rate"), PATHS)
def test_passband_level_within_half_a_db(in_rate: int, out_rate: int) -> None:
    source = tone(1000, in_rate, 1.0)
    out = stream(Resampler(in_rate, out_rate), source, in_rate // 50)
    expected = tone_amplitude(source, 1000, in_rate)
    measured = tone_amplitude(trim(out, out_rate), 1000, out_rate)
    assert abs(20 * np.log10(measured / expected)) < 0.5


@pytest.mark.parametrize(("in_rate", "out_rate"), PATHS)
def test_output_length_after_flush(in_rate: int, out_rate: int) -> None:
    source = tone(440, in_rate, 0.73)
    out = stream(Resampler(in_rate, out_rate), source, 317)
    assert abs(out.size - source.size * out_rate / in_rate) <= 1


@settings(max_examples=30, deadline=None)
@given(
    path=st.sampled_from(PATHS),
    cuts=st.lists(st.integers(min_value=1, max_value=2000), min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_chunking_does_not_change_the_output(
    path: tuple[int, int], cuts: list[int], seed: int
) -> None:
    in_rate, out_rate = path
    rng = np.random.default_rng(seed)
    # Band-limited-ish content: two tones plus a little noise, 0.5 s.
    t = np.arange(in_rate // 2) / in_rate
    signal = 8000 * np.sin(2 * np.pi * 700 * t) + 5000 * np.sin(2 * np.pi * 2900 * t)
    samples = np.rint(signal + rng.normal(0, 300, t.size)).astype(np.int16)

    whole_resampler = Resampler(in_rate, out_rate)
    whole = np.concatenate([whole_resampler.process(samples), whole_resampler.flush()])

    chunked_resampler = Resampler(in_rate, out_rate)
    pieces, start = [], 0
    for cut in cuts * (samples.size // sum(cuts) + 1):
        pieces.append(chunked_resampler.process(samples[start : start + cut]))
        start += cut
        if start >= samples.size:
            break
    pieces.append(chunked_resampler.flush())
    chunked = np.concatenate(pieces)

    assert chunked.size == whole.size
    assert np.max(np.abs(chunked.astype(np.int32) - whole.astype(np.int32))) <= 2


def test_identity_fast_path_holds_nothing_back() -> None:
    resampler = Resampler(16000, 16000)
    samples = tone(1000, 16000, 0.02)
    assert resampler.is_identity
    assert resampler.process(samples) is samples
    assert resampler.flush().size == 0
    assert resample(samples, 8000, 8000) is samples


def test_hold_back_is_released_by_flush() -> None:
    resampler = Resampler(24000, 8000)
    first = resampler.process(tone(1000, 24000, 0.02))
    assert first.size < 160  # soxr keeps the start back until its filter has input
    tail = resampler.flush()
    assert first.size + tail.size == 160


def test_reset_drops_held_back_audio_and_starts_a_new_stream() -> None:
    resampler = Resampler(24000, 8000)
    resampler.process(tone(1000, 24000, 0.1))
    resampler.reset()
    assert resampler.flush().size == 0
    # After the reset, a new utterance comes out complete and unpolluted.
    again = stream(resampler, tone(1000, 24000, 0.2), 480)
    assert again.size == 1600
    fresh = stream(Resampler(24000, 8000), tone(1000, 24000, 0.2), 480)
    assert np.max(np.abs(again.astype(np.int32) - fresh)) <= 2  # soxr rounding, not old audio


def test_one_shot_resample_matches_length_and_level() -> None:
    out = resample(tone(1000, 44100, 0.5), 44100, 8000)
    assert out.size == 4000
    assert abs(tone_amplitude(trim(out, 8000), 1000, 8000) - 0.5 * 32767) < 0.06 * 32767


@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_rate": 0, "out_rate": 8000},
        {"in_rate": 8000, "out_rate": -1},
        {"in_rate": 8000.0, "out_rate": 16000},
        {"in_rate": 8000, "out_rate": 16000, "quality": "best"},
    ],
)
def test_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Resampler(**kwargs)  # type: ignore[arg-type]
