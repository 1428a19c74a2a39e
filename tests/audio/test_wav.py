"""WAV reading (PCM16, µ-law, A-law), writing, and the incremental writer."""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from trio_plivo import ConfigurationError
from trio_plivo.audio import (
    WavAudio,
    WavWriter,
    alaw_to_pcm16,
    demo_caller_audio,
    mulaw_to_pcm16,
    read_wav,
    write_wav,
)

from .conftest import tone


def riff(
    format_tag: int, channels: int, rate: int, bits: int, data: bytes, *, extra: bytes = b""
) -> bytes:
    """A hand-built WAV file with the given fmt fields; ``extra`` chunks go before ``data``."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", format_tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    body += b"data" + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_pcm16_round_trip_through_file_and_bytes(tmp_path: Path, rate: int, channels: int) -> None:
    samples = np.random.default_rng(rate).integers(-32768, 32768, 1000 * channels, dtype=np.int16)
    pcm = samples.astype("<i2").tobytes()
    path = tmp_path / "x.wav"
    write_wav(path, pcm, sample_rate=rate, channels=channels)
    for source in (path, str(path), path.read_bytes()):
        audio = read_wav(source)
        assert audio == WavAudio(pcm=pcm, sample_rate=rate, channels=channels)
    assert audio.frames == 1000
    assert audio.duration == pytest.approx(1000 / rate)
    assert audio.samples.shape == ((1000,) if channels == 1 else (1000, 2))


def test_downmix_option(tmp_path: Path) -> None:
    left, right = tone(500, 8000, 0.1), tone(900, 8000, 0.1, amplitude=0.25)
    interleaved = np.column_stack([left, right]).reshape(-1)
    path = tmp_path / "stereo.wav"
    write_wav(path, interleaved.astype("<i2").tobytes(), sample_rate=8000, channels=2)
    mono = read_wav(path, mono=True)
    assert mono.channels == 1
    expected = np.rint((left.astype(np.int32) + right) / 2).astype(np.int16)
    np.testing.assert_array_equal(mono.samples, expected)
    # The stereo form keeps both channels.
    np.testing.assert_array_equal(read_wav(path).samples[:, 1], right)


def test_to_wav_bytes_is_readable_by_stdlib() -> None:
    audio = WavAudio(pcm=tone(440, 16000, 0.05).astype("<i2").tobytes(), sample_rate=16000)
    with wave.open(io.BytesIO(audio.to_wav_bytes())) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (
            16000,
            1,
            2,
        )
        assert reader.readframes(10_000) == audio.pcm


@pytest.mark.parametrize(
    ("tag", "decode"), [(7, mulaw_to_pcm16), (6, alaw_to_pcm16)], ids=["mulaw", "alaw"]
)
def test_g711_wav_files_are_decoded(tag: int, decode: Callable[[bytes], bytes]) -> None:
    codes = bytes(range(256)) * 3 + b"\x12"  # odd length exercises the pad byte
    data = riff(tag, 1, 8000, 8, codes, extra=b"LIST" + struct.pack("<I", 3) + b"abc\x00")
    with pytest.raises(wave.Error):  # why we parse these ourselves
        wave.open(io.BytesIO(data))  # noqa: SIM115 (raises before returning)
    audio = read_wav(data)
    assert audio.sample_rate == 8000
    assert audio.channels == 1
    assert audio.pcm == decode(codes)


def test_stereo_mulaw_wav_downmixed() -> None:
    codes = bytes([0x80, 0x00] * 50)  # left loud positive, right loud negative
    audio = read_wav(riff(7, 2, 8000, 8, codes), mono=True)
    assert audio.channels == 1
    assert audio.frames == 50
    assert np.all(audio.samples == 0)


def test_truncated_recording_reads_what_is_there() -> None:
    pcm = tone(440, 8000, 0.1).astype("<i2").tobytes()
    whole = riff(1, 1, 8000, 16, pcm)
    # A header that promises more than the file holds (a writer that died after a sync).
    audio = read_wav(whole[: len(whole) - 100])
    assert audio.pcm == pcm[: len(pcm) - 100]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"not a wav file at all", "not a WAV"),
        (b"RIFF\x04\x00\x00\x00WAVE", "fmt"),
        (riff(1, 1, 8000, 8, b"\x80" * 10), "16-bit"),
        (riff(3, 1, 8000, 32, b"\x00" * 8), "format tag"),
        (riff(7, 1, 8000, 8, b"")[:-8], "data chunk"),
    ],
)
def test_unsupported_or_corrupt_files(data: bytes, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        read_wav(data)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_wav(tmp_path / "nope.wav")


def test_write_rejects_partial_frames(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        write_wav(tmp_path / "x.wav", b"\x00\x00\x00", sample_rate=8000)
    with pytest.raises(ConfigurationError):
        write_wav(tmp_path / "x.wav", b"\x00\x00", sample_rate=8000, channels=2)
    with pytest.raises(ConfigurationError):
        write_wav(tmp_path / "x.wav", b"", sample_rate=0)


def test_wav_writer_keeps_the_header_current(tmp_path: Path) -> None:
    path = tmp_path / "live.wav"
    frame = tone(440, 8000, 0.02).astype("<i2").tobytes()
    writer = WavWriter(path, sample_rate=8000)
    for _ in range(125):  # 2.5 s
        writer.write(frame)
    # Without closing: what a crash right now would leave on disk.
    on_disk = read_wav(path.read_bytes())
    assert 1.5 <= on_disk.duration <= 2.5
    assert on_disk.pcm == (frame * 125)[: len(on_disk.pcm)]
    writer.close()
    writer.close()  # idempotent
    assert read_wav(path).pcm == frame * 125
    assert writer.duration == pytest.approx(2.5)
    with pytest.raises(ConfigurationError, match="closed"):
        writer.write(frame)


def test_wav_writer_sync_interval_and_context_manager(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    with WavWriter(path, sample_rate=16000, channels=2, sync_interval=0.1) as writer:
        writer.write(bytes(4 * 1700))  # 0.106 s: one sync
        assert read_wav(path.read_bytes()).frames == 1700
        with pytest.raises(ConfigurationError, match="frames"):
            writer.write(b"\x00\x00")
    assert read_wav(path).channels == 2
    with pytest.raises(ConfigurationError):
        WavWriter(tmp_path / "bad.wav", sample_rate=8000, sync_interval=0)


def test_wav_writer_dropped_without_close_leaves_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "dropped.wav"
    writer = WavWriter(path, sample_rate=8000, sync_interval=10)
    writer.write(bytes(320))
    del writer
    assert read_wav(path).frames == 160


def test_demo_caller_audio() -> None:
    audio = demo_caller_audio()
    assert (audio.sample_rate, audio.channels) == (8000, 1)
    assert 2.0 <= audio.duration <= 4.0
    assert np.abs(audio.samples).max() > 10000  # speech, not silence
