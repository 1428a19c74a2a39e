"""espeak-ng in-process, from the ``espeakng-loader`` wheel (no apt), through ctypes.

Optional extra ``tts`` (espeak-ng is GPL-3.0: it stays out of the core install). The engine
is process-global C state, so every synthesis goes through one lock, in a worker thread
(``trio.to_thread.run_sync``): ``espeak_Synth`` releases the GIL and takes 5-10 ms a
sentence, so the Trio thread never waits on it. A cancelled turn does not abandon the thread
(the sentence finishes in milliseconds, and the engine must not be left mid-synthesis).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import numpy as np
import trio

from ..._exceptions import ConfigurationError
from .._errors import ProviderError

__all__ = ["EspeakTTS", "espeak_available", "synthesize_blocking"]

_SYNCHRONOUS: Final = 2  # AUDIO_OUTPUT_SYNCHRONOUS: samples come back through the callback
_POS_CHARACTER: Final = 1
_CHARS_UTF8: Final = 1
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def espeak_available() -> bool:
    """Whether the ``tts`` extra (espeakng-loader) is installed."""
    try:
        import espeakng_loader  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


class _Engine:
    """The one libespeak-ng of the process (initialised on first use, in a worker thread)."""

    lock = threading.Lock()
    lib: Any = None
    rate = 22050
    voice: str | None = None
    chunks: list[np.ndarray[Any, Any]] = []  # noqa: RUF012  (guarded by the lock)
    callback: Any = None

    @classmethod
    def load(cls) -> Any:
        if cls.lib is not None:
            return cls.lib
        import espeakng_loader  # type: ignore[import-untyped,unused-ignore]

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, data, 0)
        if rate <= 0:
            raise ProviderError("espeak", f"espeak_Initialize failed ({rate})")

        def on_audio(wav: Any, count: int, events: Any) -> int:
            if wav and count > 0:
                cls.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            return 0

        cls.callback = _CALLBACK(on_audio)  # kept alive: C holds the pointer
        lib.espeak_SetSynthCallback(cls.callback)
        cls.rate = rate
        cls.lib = lib
        return lib


def synthesize_blocking(text: str, *, voice: str = "en-us", words_per_minute: int = 165) -> bytes:
    """``text`` as PCM16 little-endian at 22.05 kHz (blocking: call it in a worker thread)."""
    with _Engine.lock:
        lib = _Engine.load()
        if _Engine.voice != voice:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ConfigurationError(f"espeak-ng has no voice {voice!r}")
            _Engine.voice = voice
        lib.espeak_SetParameter(1, words_per_minute, 0)  # espeakRATE, absolute
        _Engine.chunks = []
        encoded = text.encode() + b"\0"
        status = lib.espeak_Synth(
            encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != 0:
            raise ProviderError("espeak", f"espeak_Synth failed ({status})")
        chunks, _Engine.chunks = _Engine.chunks, []
    if not chunks:
        return b""
    return np.concatenate(chunks).astype("<i2").tobytes()


class EspeakTTS:
    """Offline TTS (robotic but clear), 22.05 kHz. Needs ``pip install 'trio-plivo[tts]'``."""

    sample_rate = 22050

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 165) -> None:
        if not espeak_available():
            raise ConfigurationError(
                "EspeakTTS needs espeakng-loader: pip install 'trio-plivo[tts]'"
            )
        self.voice = voice
        self.words_per_minute = words_per_minute

    def __repr__(self) -> str:
        return f"<EspeakTTS voice={self.voice!r}>"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[EspeakTTS]:
        yield self

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        pcm = await trio.to_thread.run_sync(
            lambda: synthesize_blocking(
                text, voice=self.voice, words_per_minute=self.words_per_minute
            )
        )
        # Hand it over in 200 ms pieces: the call queues it as it goes, marks see progress.
        piece = self.sample_rate * 2 // 5
        for offset in range(0, len(pcm), piece):
            yield pcm[offset : offset + piece]
