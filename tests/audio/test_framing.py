"""Framer: exact frames from any chunking, padding only the last one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat, ConfigurationError, Encoding
from trio_plivo.audio import Framer, silence_byte


def feed(framer: Framer, data: bytes, cuts: list[int]) -> list[bytes]:
    frames, start = [], 0
    for cut in cuts:
        frames += framer.push(data[start : start + cut])
        start += cut
    frames += framer.push(data[start:])
    return frames + framer.flush()


@given(
    data=st.binary(max_size=3000),
    cuts=st.lists(st.integers(0, 700), max_size=20),
    frame_bytes=st.integers(1, 700),
    pad=st.integers(0, 255),
)
def test_frames_are_exact_and_reassemble_to_input_plus_padding(
    data: bytes, cuts: list[int], frame_bytes: int, pad: int
) -> None:
    frames = feed(Framer(frame_bytes, pad), data, cuts)
    assert all(len(frame) == frame_bytes for frame in frames)
    padding = -len(data) % frame_bytes
    assert b"".join(frames) == data + bytes([pad]) * padding
    # Chunking-invariant: the same frames as pushing everything at once.
    assert frames == feed(Framer(frame_bytes, pad), data, [])


@given(sizes=st.lists(st.integers(1, 500), max_size=30))
def test_only_the_remainder_is_held(sizes: list[int]) -> None:
    framer = Framer(160, 0xFF)
    total = 0
    for size in sizes:
        framer.push(bytes(size))
        total += size
        assert framer.pending == total % 160


def test_for_format_sizes_and_silence() -> None:
    assert Framer.for_format(MULAW_8K).frame_bytes == 160
    assert Framer.for_format(L16_8K).frame_bytes == 320
    assert Framer.for_format(L16_16K).frame_bytes == 640
    alaw = AudioFormat(encoding=Encoding.ALAW, sample_rate=8000)
    assert Framer.for_format(alaw, frame_ms=10).frame_bytes == 80
    last = Framer.for_format(MULAW_8K)
    last.push(b"\x00" * 10)
    assert last.flush() == [b"\x00" * 10 + b"\xff" * 150]
    assert silence_byte(Encoding.MULAW) == 0xFF
    assert silence_byte(Encoding.ALAW) == 0xD5
    assert silence_byte(Encoding.L16) == 0


def test_flush_without_remainder_and_reset() -> None:
    framer = Framer(4)
    assert framer.push(b"abcdefgh") == [b"abcd", b"efgh"]
    assert framer.flush() == []
    framer.push(b"xy")
    framer.reset()
    assert framer.pending == 0
    assert framer.flush() == []
    assert framer.push(bytearray(b"1234")) == [b"1234"]


@pytest.mark.parametrize(("frame_bytes", "pad"), [(0, 0), (-1, 0), (160, 256), (160, -1)])
def test_bad_settings(frame_bytes: int, pad: int) -> None:
    with pytest.raises(ConfigurationError):
        Framer(frame_bytes, pad)
