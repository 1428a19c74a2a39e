"""WireEncoder / WireDecoder / convert: the call's playback and inbound conversions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat, ConfigurationError, Encoding
from trio_plivo.audio import (
    WireDecoder,
    WireEncoder,
    convert,
    decode_wire,
    encode_mulaw,
    pcm16_to_mulaw,
)

from .conftest import tone, tone_amplitude, trim

ALAW_8K = AudioFormat(encoding=Encoding.ALAW, sample_rate=8000)
L16_16K_BIG = AudioFormat(encoding=Encoding.L16, sample_rate=16000, byte_order="big")
WIRE_FORMATS = [MULAW_8K, ALAW_8K, L16_8K, L16_16K, L16_16K_BIG]
APP_RATES = [8000, 16000, 22050, 24000, 44100, 48000]


def encode_stream(encoder: WireEncoder, pcm: bytes, chunk: int) -> bytes:
    out = [encoder.encode(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)]
    return b"".join(out) + encoder.flush()


@pytest.mark.parametrize("rate", APP_RATES)
@pytest.mark.parametrize("target", WIRE_FORMATS, ids=str)
def test_encoder_delivers_the_tone_at_the_wire_rate(rate: int, target: AudioFormat) -> None:
    pcm = tone(1000, rate, 0.5).astype("<i2").tobytes()
    wire = encode_stream(WireEncoder(rate, target), pcm, rate // 50 * 2)
    samples = decode_wire(wire, target)
    assert samples.size == round(0.5 * target.sample_rate)
    level = tone_amplitude(trim(samples, target.sample_rate), 1000, target.sample_rate)
    assert level == pytest.approx(0.5 * 32767, rel=0.03)  # within ~0.25 dB incl. G.711 noise


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("source", WIRE_FORMATS, ids=str)
def test_decoder_delivers_the_tone_at_the_app_rate(source: AudioFormat, rate: int) -> None:
    frames = convert(tone(700, 8000, 0.5).astype("<i2").tobytes(), L16_8K, source)
    frame_bytes = source.bytes_for(20)
    decoder = WireDecoder(source, rate)
    out = b"".join(
        decoder.decode(frames[i : i + frame_bytes]) for i in range(0, len(frames), frame_bytes)
    )
    samples = np.frombuffer(out + decoder.flush(), dtype="<i2")
    assert samples.size == round(0.5 * rate)
    assert tone_amplitude(trim(samples, rate), 700, rate) == pytest.approx(0.5 * 32767, rel=0.03)


def test_same_rate_l16_is_byte_exact_and_big_endian_swaps() -> None:
    pcm = np.arange(-500, 500, dtype=np.int16).astype("<i2").tobytes()
    assert encode_stream(WireEncoder(16000, L16_16K), pcm, 640) == pcm
    swapped = encode_stream(WireEncoder(16000, L16_16K_BIG), pcm, 640)
    assert swapped == np.arange(-500, 500, dtype=np.int16).astype(">i2").tobytes()
    assert WireDecoder(L16_16K_BIG, 16000).decode(swapped) == pcm


def test_same_rate_mulaw_matches_the_codec() -> None:
    pcm = tone(300, 8000, 0.1).astype("<i2").tobytes()
    assert encode_stream(WireEncoder(8000, MULAW_8K), pcm, 333) == pcm16_to_mulaw(pcm)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 999), min_size=1, max_size=30))
def test_any_chunking_of_app_pcm_gives_the_same_wire_bytes(cuts: list[int]) -> None:
    # TTS streams split PCM16 anywhere, including between the two bytes of a sample.
    pcm = tone(440, 8000, 0.3).astype("<i2").tobytes()
    whole = WireEncoder(8000, L16_8K).encode(pcm)
    encoder, out, start = WireEncoder(8000, L16_8K), [], 0
    for cut in cuts:
        out.append(encoder.encode(pcm[start : start + cut]))
        start += cut
    out.append(encoder.encode(pcm[start:]))
    assert b"".join(out) == whole


def test_resampling_encoder_is_chunking_invariant_within_a_code() -> None:
    pcm = tone(1000, 24000, 0.4).astype("<i2").tobytes()
    one = np.frombuffer(encode_stream(WireEncoder(24000, MULAW_8K), pcm, len(pcm)), np.uint8)
    many = np.frombuffer(encode_stream(WireEncoder(24000, MULAW_8K), pcm, 962), np.uint8)
    assert one.size == many.size == 3200
    # Resampler rounding may move a sample by 1-2 LSB, which can flip to the next code.
    reference = encode_mulaw(decode_wire(one.tobytes(), MULAW_8K))
    assert np.max(np.abs(reference.astype(int) - many.astype(int))) <= 1


def test_encoder_reset_drops_the_interrupted_utterance() -> None:
    encoder = WireEncoder(24000, L16_8K)
    interrupted = tone(1000, 24000, 0.2).astype("<i2").tobytes()
    encoder.encode(interrupted + b"\x01")  # held-back samples and a dangling odd byte
    encoder.reset()
    assert encoder.flush() == b""
    quiet = bytes(4800)
    out = encode_stream(encoder, quiet, 960)
    assert out == bytes(1600)  # nothing of the tone or the odd byte leaked


def test_decoder_reset() -> None:
    decoder = WireDecoder(MULAW_8K, 16000)
    decoder.decode(pcm16_to_mulaw(tone(1000, 8000, 0.2).astype("<i2").tobytes()))
    decoder.reset()
    assert decoder.flush() == b""


def test_decoder_samples_variant() -> None:
    decoder = WireDecoder(L16_8K, 8000)
    pcm = tone(500, 8000, 0.02).astype("<i2").tobytes()
    np.testing.assert_array_equal(decoder.decode_samples(pcm), np.frombuffer(pcm, "<i2"))


def test_convert_round_trips_and_channels() -> None:
    codes = bytes(b for b in range(256) if b != 0x7F)  # 0x7F is µ-law's second zero
    assert convert(convert(codes, MULAW_8K, L16_8K), L16_8K, MULAW_8K) == codes
    alaw = bytes(range(256))
    assert convert(convert(alaw, ALAW_8K, L16_16K_BIG), L16_16K_BIG, ALAW_8K) != b""
    assert convert(convert(alaw, ALAW_8K, L16_8K), L16_8K, ALAW_8K) == alaw
    stereo = AudioFormat(encoding=Encoding.L16, sample_rate=8000, channels=2)
    both = np.array([100, 300, -100, -300], dtype="<i2").tobytes()
    assert convert(both, stereo, L16_8K) == np.array([200, -200], dtype="<i2").tobytes()
    assert (
        convert(np.array([7, -7], dtype="<i2").tobytes(), L16_8K, stereo)
        == np.array([7, 7, -7, -7], dtype="<i2").tobytes()
    )
    assert convert(b"", MULAW_8K, L16_16K) == b""


def test_convert_resamples_in_one_piece() -> None:
    pcm = tone(1000, 44100, 0.25).astype("<i2").tobytes()
    wire = convert(pcm, AudioFormat(encoding=Encoding.L16, sample_rate=44100), MULAW_8K)
    assert len(wire) == 2000
    samples = decode_wire(wire, MULAW_8K)
    assert tone_amplitude(trim(samples, 8000), 1000, 8000) == pytest.approx(0.5 * 32767, rel=0.03)


def test_misuse_raises_configuration_error() -> None:
    stereo = AudioFormat(encoding=Encoding.L16, sample_rate=8000, channels=2)
    three = AudioFormat(encoding=Encoding.L16, sample_rate=8000, channels=3)
    with pytest.raises(ConfigurationError, match="mono"):
        WireEncoder(8000, stereo)
    with pytest.raises(ConfigurationError, match="mono"):
        WireDecoder(stereo, 8000)
    with pytest.raises(ConfigurationError):
        WireEncoder(0, MULAW_8K)
    with pytest.raises(ConfigurationError, match="whole number"):
        convert(b"\x00\x00\x00", L16_8K, MULAW_8K)
    with pytest.raises(ConfigurationError, match="channels"):
        convert(bytes(12), stereo, three)
