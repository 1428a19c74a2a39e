"""The three ways a control request carries audio to play, decoded to PCM16 and a rate."""

from __future__ import annotations

import base64
import binascii

import numpy as np

from .._exceptions import ConfigurationError
from ..audio import read_wav
from ._errors import ControlError

__all__ = ["audio_from_json", "audio_from_wav"]

_RATES = range(8000, 48001)


def _rate(data: dict[str, object]) -> int:
    rate = data.get("sample_rate", 8000)
    if type(rate) is not int or rate not in _RATES:
        raise ControlError(400, "'sample_rate' must be a whole number of Hz, 8000-48000")
    return rate


def audio_from_json(data: dict[str, object]) -> tuple[bytes, int]:
    """``{"samples": [int16 ...]}`` (KooKoo's shape) or ``{"audio": "<base64 PCM16 LE>"}``,
    with ``"sample_rate"`` (default 8000): PCM16 little-endian bytes and the rate."""
    samples, encoded = data.get("samples"), data.get("audio")
    if (samples is None) == (encoded is None):
        raise ControlError(400, "give either 'samples' (int16 values) or 'audio' (base64 PCM16)")
    rate = _rate(data)
    if samples is not None:
        if not isinstance(samples, list) or not samples:
            raise ControlError(400, "'samples' must be a non-empty list of int16 values")
        if not all(type(s) is int and -32768 <= s <= 32767 for s in samples):
            raise ControlError(400, "'samples' must hold whole numbers from -32768 to 32767")
        return np.asarray(samples, dtype="<i2").tobytes(), rate
    if not isinstance(encoded, str):
        raise ControlError(400, "'audio' must be a base64 string of PCM16 little-endian")
    try:
        pcm = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(400, "'audio' is not valid base64") from None
    if not pcm or len(pcm) % 2:
        raise ControlError(400, f"'audio' must be whole PCM16 samples, got {len(pcm)} bytes")
    return pcm, rate


def audio_from_wav(body: bytes) -> tuple[bytes, int]:
    """A WAV file's audio (PCM16, µ-law or A-law; stereo downmixed) as PCM16 and its rate."""
    try:
        wav = read_wav(body, mono=True)
    except ConfigurationError as exc:
        raise ControlError(400, f"not a usable WAV file: {exc}") from None
    if not len(wav.pcm):
        raise ControlError(400, "the WAV file holds no audio")
    return bytes(wav.pcm), wav.sample_rate
