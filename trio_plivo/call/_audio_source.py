"""What ``Call.play`` accepts, and turning any of it into the stream's wire format."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable

from .._exceptions import LocalProtocolError
from .._format import AudioFormat, Encoding
from ..audio import WavAudio, convert, read_wav

__all__ = ["AudioSource", "to_wire_format"]

#: Anything :meth:`Call.play` can play.
AudioSource = (
    bytes | bytearray | memoryview | str | os.PathLike[str] | WavAudio | AsyncIterable[bytes]
)


def _looks_like_wav(data: bytes | bytearray | memoryview) -> bool:
    head = bytes(data[:12])
    return len(head) == 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def to_wire_format(
    audio: bytes | bytearray | memoryview | str | os.PathLike[str] | WavAudio,
    target: AudioFormat,
    sample_rate: int | None,
) -> bytes:
    """Convert a whole (non-streaming) audio source to ``target`` wire bytes."""
    if isinstance(audio, str | os.PathLike):
        audio = read_wav(audio, mono=True)
    elif (
        sample_rate is None
        and isinstance(audio, bytes | bytearray | memoryview)
        and _looks_like_wav(audio)
    ):
        audio = read_wav(bytes(audio), mono=True)
    if isinstance(audio, WavAudio):
        wav = audio.to_mono()
        return _from_pcm16(wav.pcm, wav.sample_rate, target)
    if not isinstance(audio, bytes | bytearray | memoryview):
        raise LocalProtocolError(f"cannot play a {type(audio).__name__}")
    if sample_rate is None:
        return bytes(audio)
    return _from_pcm16(bytes(audio), sample_rate, target)


def _from_pcm16(pcm: bytes, rate: int, target: AudioFormat) -> bytes:
    if len(pcm) % 2:
        raise LocalProtocolError(f"{len(pcm)} bytes is not whole PCM16 samples")
    source = AudioFormat(encoding=Encoding.L16, sample_rate=rate)
    if source == target:
        return pcm
    return convert(pcm, source, target)
