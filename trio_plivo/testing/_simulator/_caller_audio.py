"""What the simulated caller says: a sequence of parts cut into 20 ms frames on demand.

The stream's format is only known when a run starts, so a :class:`CallerAudio` stores parts
(raw bytes, silence, frame iterators) and produces frames lazily through a cursor. Sync and
async iterators are consumed as they go, so such a part can only be used by one run.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import attrs

from ..._exceptions import ConfigurationError
from ..._format import AudioFormat, Encoding
from ...audio import convert, demo_caller_audio, read_wav
from ._pcm import FRAME_SECONDS, frame_bytes, silence

__all__ = ["CallerAudio", "FrameCursor"]


@attrs.frozen
class _Bytes:
    data: bytes


@attrs.frozen
class _Silence:
    #: ``None``: silence without end.
    frames: int | None


@attrs.frozen
class _Pcm16:
    pcm: bytes = attrs.field(repr=False)
    rate: int


@attrs.frozen
class _Frames:
    frames: Iterable[bytes] | AsyncIterable[bytes] = attrs.field(eq=False)


_Part = _Bytes | _Pcm16 | _Silence | _Frames


@attrs.frozen
class CallerAudio:
    """The caller's side of the call, as the simulator streams it in ``media`` frames.

    Build one with the constructors and join parts with ``+``::

        CallerAudio.silence(0.5) + CallerAudio.from_bytes(mulaw_hello) + CallerAudio.silence(2)

    Bytes given to :meth:`from_bytes` must already be in the stream's negotiated format;
    :meth:`from_pcm16` and :meth:`from_wav` take any rate and are converted. The last partial
    frame of a part is padded with silence.
    """

    _parts: tuple[_Part, ...] = ()

    @classmethod
    def silence(cls, seconds: float) -> CallerAudio:
        """``seconds`` of silence (rounded to whole 20 ms frames); ``math.inf`` never ends."""
        if not seconds >= 0:
            raise ValueError(f"silence needs a non-negative duration, got {seconds}")
        frames = None if math.isinf(seconds) else round(seconds / FRAME_SECONDS)
        return cls((_Silence(frames),))

    @classmethod
    def from_bytes(cls, data: bytes) -> CallerAudio:
        """Raw audio already in the stream's format (µ-law bytes or PCM16LE)."""
        return cls((_Bytes(bytes(data)),))

    @classmethod
    def from_pcm16(cls, pcm: bytes, rate: int) -> CallerAudio:
        """Mono PCM16LE at any ``rate``; converted (resampled, µ-law encoded) to the stream's
        format when the run starts."""
        if len(pcm) % 2:
            raise ConfigurationError("PCM16 needs an even number of bytes")
        if rate <= 0:
            raise ConfigurationError(f"sample rate must be positive, got {rate}")
        return cls((_Pcm16(bytes(pcm), rate),))

    @classmethod
    def from_wav(cls, source: str | os.PathLike[str] | bytes) -> CallerAudio:
        """A WAV file (path or bytes): PCM16, µ-law or A-law, any rate, channels averaged to
        mono. Read now, converted to the stream's format when the run starts."""
        wav = read_wav(source, mono=True)
        return cls.from_pcm16(wav.pcm, wav.sample_rate)

    @classmethod
    def demo(cls) -> CallerAudio:
        """About 3 s of synthetic speech ("Hello, this is a test call ..."), for smoke tests."""
        wav = demo_caller_audio()
        return cls.from_pcm16(wav.pcm, wav.sample_rate)

    @classmethod
    def from_frames(cls, frames: Iterable[bytes] | AsyncIterable[bytes]) -> CallerAudio:
        """Frames to send as they are, one ``media`` message each (any length: a frame that
        is not 20 ms is sent anyway, to test how the app copes)."""
        return cls((_Frames(frames),))

    def __add__(self, other: CallerAudio) -> CallerAudio:
        if not isinstance(other, CallerAudio):
            return NotImplemented
        return CallerAudio(self._parts + other._parts)

    def open(self, fmt: AudioFormat) -> FrameCursor:
        """Start producing frames in ``fmt`` (used by the simulator, once per run)."""
        return FrameCursor(iter(self._parts), fmt)


@attrs.define
class FrameCursor:
    """Hands out the frames of a :class:`CallerAudio` one at a time."""

    _parts: Iterator[_Part]
    _fmt: AudioFormat
    _current: Iterator[bytes] | AsyncIterator[bytes] | None = None

    async def next_frame(self) -> bytes | None:
        """The next frame, or ``None`` when the caller has nothing more to say."""
        while True:
            if self._current is None:
                part = next(self._parts, None)
                if part is None:
                    return None
                self._current = self._frames_of(part)
            if isinstance(self._current, AsyncIterator):
                try:
                    return await anext(self._current)
                except StopAsyncIteration:
                    self._current = None
            else:
                frame = next(self._current, None)
                if frame is not None:
                    return frame
                self._current = None

    def _framed(self, data: bytes) -> Iterator[bytes]:
        size = frame_bytes(self._fmt)
        count = math.ceil(len(data) / size)
        padded = data + silence(self._fmt, count * size - len(data))
        return iter([padded[i * size : (i + 1) * size] for i in range(count)])

    async def aclose(self) -> None:
        """Close an async generator part left unfinished (the call ended first)."""
        current, self._current = self._current, None
        aclose = getattr(current, "aclose", None)
        if aclose is not None:
            await aclose()

    def _frames_of(self, part: _Part) -> Iterator[bytes] | AsyncIterator[bytes]:
        size = frame_bytes(self._fmt)
        if isinstance(part, _Silence):
            blank = silence(self._fmt, size)
            if part.frames is None:
                return itertools.repeat(blank)
            return itertools.repeat(blank, part.frames)
        if isinstance(part, _Bytes):
            return self._framed(part.data)
        if isinstance(part, _Pcm16):
            source = AudioFormat(encoding=Encoding.L16, sample_rate=part.rate)
            return self._framed(convert(part.pcm, source, self._fmt))
        if isinstance(part.frames, AsyncIterable):
            return aiter(part.frames)
        return iter(part.frames)
