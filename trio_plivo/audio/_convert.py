"""Conversion between application PCM16 and a call's wire format (µ-law, A-law, L16).

Two streaming converters serve the call's two directions, and :func:`convert` handles whole
buffers (prompts, files):

* :class:`WireEncoder`: app PCM16 at any rate (TTS output: 16, 22.05, 24 kHz ...) -> wire bytes.
* :class:`WireDecoder`: wire bytes -> PCM16 at the rate the app wants (STT input: 16 kHz ...).

Both keep resampler state across chunks (so 20 ms frames are filtered as one signal) and have
``flush()`` for the end of an utterance and ``reset()`` for barge-in. Wire audio is mono.
"""

from __future__ import annotations

from typing import Final, cast

import numpy as np

from .._exceptions import ConfigurationError
from .._format import AudioFormat, Encoding
from ._g711 import decode_alaw, decode_mulaw, encode_alaw, encode_mulaw
from ._pcm import ByteOrder, downmix, pcm16_from_bytes, pcm16_to_bytes
from ._polyphase import LowLatencyResampler
from ._resample import Quality, Resampler, resample
from ._types import BytesLike, Int16Array

__all__ = ["WireDecoder", "WireEncoder", "convert", "decode_wire", "encode_wire"]


def decode_wire(data: BytesLike, audio_format: AudioFormat) -> Int16Array:
    """Decode bytes in ``audio_format`` to native int16 samples (interleaved if multi-channel)."""
    encoding = audio_format.encoding
    if encoding is Encoding.L16:
        return pcm16_from_bytes(data, cast(ByteOrder, audio_format.byte_order))
    codes = np.frombuffer(data, dtype=np.uint8)
    return decode_mulaw(codes) if encoding is Encoding.MULAW else decode_alaw(codes)


def encode_wire(samples: Int16Array, audio_format: AudioFormat) -> bytes:
    """Encode native int16 samples as bytes in ``audio_format``."""
    encoding = audio_format.encoding
    if encoding is Encoding.L16:
        return pcm16_to_bytes(samples, cast(ByteOrder, audio_format.byte_order))
    codes = encode_mulaw(samples) if encoding is Encoding.MULAW else encode_alaw(samples)
    return codes.tobytes()


def _require_mono(audio_format: AudioFormat) -> None:
    if audio_format.channels != 1:
        raise ConfigurationError(
            f"call audio is mono; {audio_format} has {audio_format.channels} channels"
        )


class _OddByteCarry:
    """Holds back the odd trailing byte of a PCM16 byte stream until its partner arrives.

    TTS engines and HTTP streams split their output wherever they like, including mid-sample;
    dropping or padding that byte would swap the byte order of everything after it.
    """

    def __init__(self) -> None:
        self._carry = b""

    def take(self, data: BytesLike) -> bytes:
        joined = self._carry + bytes(data) if self._carry else bytes(data)
        cut = len(joined) & ~1
        self._carry = joined[cut:]
        return joined[:cut]

    def reset(self) -> None:
        self._carry = b""


class WireEncoder:
    """Streaming encoder: little-endian PCM16 mono at ``source_rate`` -> ``target`` wire bytes.

    Output lags input by the resampler's hold-back (see :class:`Resampler`) whenever the rates
    differ; :meth:`flush` returns the rest at the end of an utterance. Chunks may have any
    length, even an odd number of bytes. Cut the output into frames with :class:`Framer`.
    """

    def __init__(self, source_rate: int, target: AudioFormat, *, quality: Quality = "HQ") -> None:
        _require_mono(target)
        self.source_rate: Final = source_rate
        self.target: Final = target
        self._resampler = Resampler(source_rate, target.sample_rate, quality=quality)
        self._bytes = _OddByteCarry()

    def encode(self, pcm16: BytesLike) -> bytes:
        """Encode the next chunk of PCM16; returns whatever wire bytes are ready."""
        samples = pcm16_from_bytes(self._bytes.take(pcm16))
        return encode_wire(self._resampler.process(samples), self.target)

    def flush(self) -> bytes:
        """End the utterance: return the held-back tail and start afresh."""
        self._bytes.reset()  # half a sample at the very end carries no sound
        return encode_wire(self._resampler.flush(), self.target)

    def reset(self) -> None:
        """Drop everything held back (barge-in), ready for a new utterance."""
        self._bytes.reset()
        self._resampler.reset()

    def __repr__(self) -> str:
        return f"WireEncoder(PCM16 {self.source_rate} Hz -> {self.target})"


class WireDecoder:
    """Streaming decoder: ``source`` wire bytes -> little-endian PCM16 mono at ``output_rate``.

    Each frame is decoded and resampled once, in one call to :meth:`decode`, and gives its
    share of output at once (20 ms in, 20 ms out): between the telephony rates (8, 16, 24,
    48 kHz ...) the resampler holds nothing back (:class:`LowLatencyResampler`), so a speech
    recogniser fed frame by frame hears the caller without delay. ``quality`` picks soxr
    instead, for rates that are no simple ratio or when filter quality beats latency.
    """

    def __init__(
        self, source: AudioFormat, output_rate: int, *, quality: Quality | None = None
    ) -> None:
        _require_mono(source)
        self.source: Final = source
        self.output_rate: Final = output_rate
        self._resampler: Resampler | LowLatencyResampler
        if quality is None and LowLatencyResampler.handles(source.sample_rate, output_rate):
            self._resampler = LowLatencyResampler(source.sample_rate, output_rate)
        else:
            self._resampler = Resampler(source.sample_rate, output_rate, quality=quality or "HQ")
        self._bytes = _OddByteCarry() if source.encoding is Encoding.L16 else None

    def decode_samples(self, payload: BytesLike) -> Int16Array:
        """Like :meth:`decode` but returns native int16 samples (for VAD, DTMF, numpy users)."""
        data = payload if self._bytes is None else self._bytes.take(payload)
        return self._resampler.process(decode_wire(data, self.source))

    def decode(self, payload: BytesLike) -> bytes:
        """Decode the next wire payload to PCM16 bytes at ``output_rate``."""
        return pcm16_to_bytes(self.decode_samples(payload))

    def flush(self) -> bytes:
        """Return the resampler's held-back tail and start afresh."""
        if self._bytes is not None:
            self._bytes.reset()
        return pcm16_to_bytes(self._resampler.flush())

    def reset(self) -> None:
        """Drop everything held back."""
        if self._bytes is not None:
            self._bytes.reset()
        self._resampler.reset()

    def __repr__(self) -> str:
        return f"WireDecoder({self.source} -> PCM16 {self.output_rate} Hz)"


def convert(
    data: BytesLike, src: AudioFormat, dst: AudioFormat, *, quality: Quality = "HQ"
) -> bytes:
    """Convert a whole buffer from ``src`` to ``dst`` (encoding, rate, byte order, channels).

    Channels: equal counts are kept, many -> mono averages, mono -> many duplicates. Resampling
    is done in one piece, so nothing is held back. Raises
    :class:`~trio_plivo.ConfigurationError` for data that is not whole frames of ``src``.
    """
    if len(data) % src.bytes_per_sample:
        raise ConfigurationError(f"{len(data)} bytes is not a whole number of {src} frames")
    samples = decode_wire(data, src)
    if src.channels != dst.channels:
        if dst.channels == 1:
            samples = downmix(samples, src.channels)
        elif src.channels == 1:
            samples = np.repeat(samples, dst.channels)
        else:
            raise ConfigurationError(f"cannot map {src.channels} channels onto {dst.channels}")
    if src.sample_rate != dst.sample_rate and samples.size:
        frames = samples.reshape(-1, dst.channels)
        resampled: Int16Array = resample(frames, src.sample_rate, dst.sample_rate, quality=quality)
        samples = resampled.reshape(-1)
    return encode_wire(samples, dst)
