"""The bundled demo caller voice, for the simulator, examples and tests."""

from __future__ import annotations

from importlib import resources

from ._wav import WavAudio, read_wav

__all__ = ["demo_caller_audio"]

_DEMO_FILE = "caller_hello.wav"


def demo_caller_audio() -> WavAudio:
    """About 3 s of synthetic speech, 8 kHz mono PCM16: "Hello, this is a test call. Press
    five for a checkpoint." (espeak-ng, made by ``tools/make_caller_wav.py``)."""
    data = resources.files("trio_plivo.data").joinpath(_DEMO_FILE).read_bytes()
    return read_wav(data)
