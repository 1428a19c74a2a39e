"""WAV files: read PCM16, µ-law and A-law WAV; write PCM16 WAV, in one go or incrementally.

PCM16 goes through the stdlib ``wave`` module. ``wave`` refuses G.711 WAV (format tags 7 and 6,
common for telephony recordings), so for those the RIFF ``fmt ``/``data`` chunks are read here
and the samples decoded with the G.711 tables.
"""

from __future__ import annotations

import io
import os
import struct
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final, TypeAlias

import attrs
import numpy as np

from .._exceptions import ConfigurationError
from ._closing import ClosedOnExit
from ._g711 import decode_alaw, decode_mulaw
from ._pcm import downmix
from ._types import BytesLike, Int16Array

__all__ = ["WavAudio", "WavSource", "WavWriter", "read_wav", "write_wav"]

#: A WAV file's path, or its whole content in memory.
WavSource: TypeAlias = str | os.PathLike[str] | BytesLike

_FORMAT_PCM: Final = 0x0001
_FORMAT_ALAW: Final = 0x0006
_FORMAT_MULAW: Final = 0x0007
_FORMAT_EXTENSIBLE: Final = 0xFFFE


@attrs.frozen(kw_only=True)
class WavAudio:
    """Decoded audio: interleaved little-endian PCM16 ``pcm`` at ``sample_rate`` Hz."""

    pcm: bytes = attrs.field(repr=lambda pcm: f"<{len(pcm)} bytes>")
    sample_rate: int
    channels: int = 1

    @property
    def frames(self) -> int:
        """Number of sample frames (samples per channel)."""
        return len(self.pcm) // (2 * self.channels)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate

    @property
    def samples(self) -> Int16Array:
        """The samples as native int16, shape ``(frames,)`` for mono, ``(frames, channels)`` else."""
        flat = np.frombuffer(self.pcm, dtype="<i2").astype(np.int16, copy=False)
        return flat if self.channels == 1 else flat.reshape(-1, self.channels)

    def to_mono(self) -> WavAudio:
        """This audio averaged down to one channel (itself if already mono)."""
        if self.channels == 1:
            return self
        flat = np.frombuffer(self.pcm, dtype="<i2").astype(np.int16, copy=False)
        mono = downmix(flat, self.channels)
        return WavAudio(pcm=mono.astype("<i2").tobytes(), sample_rate=self.sample_rate)

    def to_wav_bytes(self) -> bytes:
        """This audio as a complete PCM16 WAV file."""
        out = io.BytesIO()
        write_wav(out, self.pcm, sample_rate=self.sample_rate, channels=self.channels)
        return out.getvalue()


def _load(source: WavSource) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read WAV file {os.fspath(source)!r}: {exc}") from exc


def _chunks(data: bytes) -> Iterator[tuple[bytes, memoryview]]:
    """Yield ``(chunk id, payload)`` for each RIFF chunk of a WAVE file.

    A ``data`` chunk whose declared size runs past the end of the file is cut short rather than
    rejected: that is what a recording interrupted before its header was patched looks like.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ConfigurationError("not a WAV file (no RIFF/WAVE header)")
    view = memoryview(data)
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = bytes(view[offset : offset + 4])
        (size,) = struct.unpack_from("<I", data, offset + 4)
        start = offset + 8
        yield chunk_id, view[start : min(start + size, len(data))]
        offset = start + size + (size & 1)  # chunks are word-aligned


def _read_g711(data: bytes, format_tag: int, channels: int, rate: int) -> WavAudio:
    payload: memoryview | None = None
    for chunk_id, chunk in _chunks(data):
        if chunk_id == b"data":
            payload = chunk
            break
    if payload is None:
        raise ConfigurationError("WAV file has no data chunk")
    usable = len(payload) - len(payload) % channels
    codes = np.frombuffer(payload[:usable], dtype=np.uint8)
    samples = decode_mulaw(codes) if format_tag == _FORMAT_MULAW else decode_alaw(codes)
    return WavAudio(pcm=samples.astype("<i2").tobytes(), sample_rate=rate, channels=channels)


def _read_pcm16(data: bytes) -> WavAudio:
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            if reader.getsampwidth() != 2:
                raise ConfigurationError(
                    f"only 16-bit PCM WAV is supported, got {8 * reader.getsampwidth()}-bit"
                )
            pcm = reader.readframes(reader.getnframes())
            channels, rate = reader.getnchannels(), reader.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ConfigurationError(f"unreadable WAV file: {exc}") from exc
    pcm = pcm[: len(pcm) - len(pcm) % (2 * channels)]
    return WavAudio(pcm=pcm, sample_rate=rate, channels=channels)


def read_wav(source: WavSource, *, mono: bool = False) -> WavAudio:
    """Read a PCM16, µ-law or A-law WAV file (a path, or the file's bytes).

    Any sample rate and channel count are accepted; ``mono=True`` averages the channels down to
    one. Unsupported or corrupt files raise :class:`~trio_plivo.ConfigurationError`.
    """
    data = _load(source)
    fmt: memoryview | None = None
    for chunk_id, chunk in _chunks(data):
        if chunk_id == b"fmt ":
            fmt = chunk
            break
    if fmt is None or len(fmt) < 16:
        raise ConfigurationError("WAV file has no valid fmt chunk")
    format_tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if channels < 1 or rate < 1:
        raise ConfigurationError(f"WAV file declares {channels} channels at {rate} Hz")
    if format_tag in (_FORMAT_MULAW, _FORMAT_ALAW):
        audio = _read_g711(data, format_tag, channels, rate)
    elif format_tag in (_FORMAT_PCM, _FORMAT_EXTENSIBLE):
        audio = _read_pcm16(data)
    else:
        raise ConfigurationError(
            f"unsupported WAV format tag {format_tag:#06x} ({bits}-bit); "
            "expected PCM16, µ-law or A-law"
        )
    return audio.to_mono() if mono else audio


def _check_layout(sample_rate: int, channels: int) -> None:
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ConfigurationError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if not isinstance(channels, int) or channels <= 0:
        raise ConfigurationError(f"channels must be a positive integer, got {channels!r}")


def write_wav(
    destination: str | os.PathLike[str] | IO[bytes],
    pcm: BytesLike,
    *,
    sample_rate: int,
    channels: int = 1,
) -> None:
    """Write interleaved little-endian PCM16 ``pcm`` as a complete WAV file."""
    _check_layout(sample_rate, channels)
    if len(pcm) % (2 * channels):
        raise ConfigurationError(
            f"{len(pcm)} bytes is not a whole number of {channels}-channel frames"
        )
    target = os.fspath(destination) if isinstance(destination, str | os.PathLike) else destination
    with wave.open(target, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)


class WavWriter(ClosedOnExit):
    """Write a PCM16 WAV file incrementally, keeping its header valid as it grows.

    A WAV header stores the data size, so a file whose writer dies before closing normally
    claims to be empty. This writer rewrites the sizes whenever ``sync_interval`` seconds of
    audio have been written since the last time (and on :meth:`close`), then flushes the file:
    a crash loses at most ``sync_interval`` seconds. ``fsync=True`` also survives power loss.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate: int,
        channels: int = 1,
        sync_interval: float = 1.0,
        fsync: bool = False,
    ) -> None:
        _check_layout(sample_rate, channels)
        if not sync_interval > 0:
            raise ConfigurationError(f"sync_interval must be > 0 seconds, got {sync_interval!r}")
        self.path: Final = Path(path)
        self.sample_rate: Final = sample_rate
        self.channels: Final = channels
        self._frame_bytes = 2 * channels
        self._sync_frames = max(1, round(sync_interval * sample_rate))
        self._fsync = fsync
        self._frames_written = 0
        self._frames_since_sync = 0
        self._file: IO[bytes] | None = open(self.path, "wb")  # noqa: SIM115 (closed in close())
        self._writer = wave.open(self._file, "wb")  # noqa: SIM115 (closed in close())
        self._writer.setnchannels(channels)
        self._writer.setsampwidth(2)
        self._writer.setframerate(sample_rate)

    @property
    def frames_written(self) -> int:
        """Sample frames written so far."""
        return self._frames_written

    @property
    def duration(self) -> float:
        """Seconds of audio written so far."""
        return self._frames_written / self.sample_rate

    @property
    def closed(self) -> bool:
        return self._file is None

    def write(self, pcm: BytesLike) -> None:
        """Append interleaved little-endian PCM16 frames."""
        if self._file is None:
            raise ConfigurationError(f"WavWriter for {self.path} is closed")
        if len(pcm) % self._frame_bytes:
            raise ConfigurationError(
                f"{len(pcm)} bytes is not a whole number of {self.channels}-channel frames"
            )
        # writeframesraw leaves the header alone; sync() patches it on our schedule.
        self._writer.writeframesraw(pcm)
        frames = len(pcm) // self._frame_bytes
        self._frames_written += frames
        self._frames_since_sync += frames
        if self._frames_since_sync >= self._sync_frames:
            self.sync()

    def sync(self) -> None:
        """Patch the header to cover everything written so far and flush it to the OS."""
        if self._file is None:
            return
        # wave documents writeframes() as making the header's frame count correct.
        self._writer.writeframes(b"")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())
        self._frames_since_sync = 0

    def close(self) -> None:
        """Patch the header and close the file. Idempotent."""
        if self._file is None:
            return
        try:
            self.sync()
            self._writer.close()
        finally:
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        # Like a file object, a writer dropped without close() still leaves a valid file (and
        # wave's own finaliser then finds nothing left to do on our closed file).
        if getattr(self, "_file", None) is not None:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self._file is None else f"{self.duration:.2f} s"
        return f"WavWriter({str(self.path)!r}, {self.sample_rate} Hz x{self.channels}, {state})"
