"""G.711 µ-law / A-law: bit-exact against a plain-Python reference written differently."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from trio_plivo import ConfigurationError
from trio_plivo.audio import (
    alaw_to_pcm16,
    decode_alaw,
    decode_mulaw,
    encode_alaw,
    encode_mulaw,
    mulaw_to_pcm16,
    pcm16_to_alaw,
    pcm16_to_mulaw,
)

Codec = Callable[[Any], Any]

ALL_PCM = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)

# --- reference: G.711 described by decision intervals, one sample at a time ---------------


def ref_mulaw_encode(sample: int) -> int:
    x = sample >> 2  # 14-bit linear input
    magnitude = min(abs(x), 8159) + 33  # bias so segment s spans [32 * 2**s, 64 * 2**s)
    segment = 0
    while segment < 8 and magnitude >= 64 * 2**segment:
        segment += 1
    if segment == 8:
        value = 0x7F
    else:
        value = 16 * segment + (magnitude - 32 * 2**segment) // (2 * 2**segment)
    # Transmitted inverted; positive samples carry the top bit.
    return (0x80 if x >= 0 else 0x00) | (0x7F - value)


def ref_mulaw_decode(code: int) -> int:
    inverted = 0xFF - code
    segment, step = (inverted // 16) % 8, inverted % 16
    magnitude = 4 * ((2 * step + 33) * 2**segment - 33)
    return -magnitude if inverted >= 128 else magnitude


def ref_alaw_encode(sample: int) -> int:
    x = sample >> 3  # 13-bit linear input
    negative = x < 0
    magnitude = -x - 1 if negative else x
    if magnitude < 32:
        segment, step = 0, magnitude // 2
    else:
        segment = magnitude.bit_length() - 5
        step = (magnitude >> segment) - 16
    value = 16 * segment + step
    if not negative:
        value += 0x80
    return value ^ 0x55  # even bits inverted on the line


def ref_alaw_decode(code: int) -> int:
    value = code ^ 0x55
    segment, step = (value >> 4) & 7, value & 15
    magnitude = 8 * (2 * step + 1) if segment == 0 else 8 * (2 * step + 33) * 2 ** (segment - 1)
    return magnitude if value >= 128 else -magnitude


# --- bit-exactness ----------------------------------------------------------------------


def test_mulaw_encode_matches_reference_on_all_inputs() -> None:
    expected = bytes(ref_mulaw_encode(int(s)) for s in ALL_PCM)
    assert encode_mulaw(ALL_PCM).tobytes() == expected
    assert pcm16_to_mulaw(ALL_PCM.astype("<i2").tobytes()) == expected


def test_mulaw_decode_matches_reference_on_all_codes() -> None:
    expected = np.array([ref_mulaw_decode(c) for c in range(256)], dtype=np.int16)
    np.testing.assert_array_equal(decode_mulaw(ALL_CODES), expected)
    assert mulaw_to_pcm16(bytes(range(256))) == expected.astype("<i2").tobytes()


def test_alaw_encode_matches_reference_on_all_inputs() -> None:
    expected = bytes(ref_alaw_encode(int(s)) for s in ALL_PCM)
    assert encode_alaw(ALL_PCM).tobytes() == expected
    assert pcm16_to_alaw(ALL_PCM.astype("<i2").tobytes()) == expected


def test_alaw_decode_matches_reference_on_all_codes() -> None:
    expected = np.array([ref_alaw_decode(c) for c in range(256)], dtype=np.int16)
    np.testing.assert_array_equal(decode_alaw(ALL_CODES), expected)
    assert alaw_to_pcm16(bytes(range(256))) == expected.astype("<i2").tobytes()


def test_matches_stdlib_audioop_where_available() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    pcm = ALL_PCM.astype("<i2").tobytes()
    codes = bytes(range(256))
    assert pcm16_to_mulaw(pcm) == audioop.lin2ulaw(pcm, 2)
    assert pcm16_to_alaw(pcm) == audioop.lin2alaw(pcm, 2)
    assert mulaw_to_pcm16(codes) == audioop.ulaw2lin(codes, 2)
    assert alaw_to_pcm16(codes) == audioop.alaw2lin(codes, 2)


# --- round-trip properties --------------------------------------------------------------


@pytest.mark.parametrize(
    ("encode", "decode"), [(encode_mulaw, decode_mulaw), (encode_alaw, decode_alaw)]
)
def test_codes_survive_decode_encode(encode: Codec, decode: Codec) -> None:
    again = encode(decode(ALL_CODES))
    differing = ALL_CODES[again != ALL_CODES]
    # µ-law has two codes for zero (0x7F is "-0"); every other code is its own decode's code.
    assert set(differing.tolist()) <= {0x7F}


@pytest.mark.parametrize(
    ("encode", "decode"), [(encode_mulaw, decode_mulaw), (encode_alaw, decode_alaw)]
)
def test_quantisation_error_is_bounded_and_monotonic(encode: Codec, decode: Codec) -> None:
    decoded = decode(encode(ALL_PCM)).astype(np.int64)
    x = ALL_PCM.astype(np.int64)
    assert np.all(np.diff(decoded) >= 0)  # a louder input never decodes quieter
    in_range = np.abs(x) <= 32000  # beyond, both laws saturate
    error = np.abs(decoded - x)[in_range]
    bound = np.maximum(16, np.abs(x)[in_range] >> 4)  # ~6 % relative: 8-bit log companding
    assert np.all(error <= bound)
    # Encoding is idempotent on its own output.
    np.testing.assert_array_equal(encode(decode(encode(ALL_PCM))), encode(ALL_PCM))


def test_odd_length_pcm_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="even length"):
        pcm16_to_mulaw(b"\x00\x01\x02")
    with pytest.raises(ConfigurationError):
        pcm16_to_alaw(b"\x00")


def test_silence_codes() -> None:
    assert pcm16_to_mulaw(bytes(4)) == b"\xff\xff"
    assert pcm16_to_alaw(bytes(4)) == b"\xd5\xd5"
