"""Offline speech recognition with pocketsphinx and a small JSGF grammar of menu words.

Optional extra ``stt-lite`` (``pocketsphinx``: a 29 MB wheel with its en-US model, BSD
licence). Open-vocabulary pocketsphinx is poor on phone audio; constrained to the menu's
words it is usable (offline-speech.md §4). pocketsphinx holds the GIL while it decodes, so
the utterance is fed in 20 ms pieces from a worker thread, never in one long call.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import trio

from ..._exceptions import ConfigurationError
from .._errors import ProviderError
from .rules import VOCABULARY

__all__ = ["PocketsphinxSTT", "menu_grammar", "pocketsphinx_available"]


def pocketsphinx_available() -> bool:
    """Whether the ``stt-lite`` extra (pocketsphinx) is installed."""
    try:
        import pocketsphinx  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def menu_grammar(words: Sequence[str] = VOCABULARY) -> str:
    """A JSGF grammar accepting one to three of ``words``."""
    alternatives = " | ".join(sorted(set(words)))
    return (
        "#JSGF V1.0;\ngrammar menu;\n"
        f"<word> = {alternatives};\n"
        "public <utterance> = <word> [<word>] [<word>];\n"
    )


class PocketsphinxSTT:
    """pocketsphinx at 16 kHz with the menu grammar (one decoder per call)."""

    sample_rate = 16000

    def __init__(self, *, words: Sequence[str] = VOCABULARY) -> None:
        if not pocketsphinx_available():
            raise ConfigurationError(
                "PocketsphinxSTT needs pocketsphinx: pip install 'trio-plivo[stt-lite]'"
            )
        self._grammar = menu_grammar(words)

    def __repr__(self) -> str:
        return "<PocketsphinxSTT menu grammar>"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_Session]:
        decoder = await trio.to_thread.run_sync(self._make_decoder)
        yield _Session(decoder)

    def _make_decoder(self) -> Any:
        from pocketsphinx import Decoder  # type: ignore[import-not-found,import-untyped,unused-ignore]

        decoder = Decoder(samprate=self.sample_rate, loglevel="FATAL")
        decoder.add_jsgf_string("menu", self._grammar)
        decoder.activate_search("menu")
        return decoder


class _Session:
    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder

    async def transcribe(self, audio: AsyncIterable[bytes]) -> str:
        pcm = bytearray()
        async for chunk in audio:
            pcm += chunk
        if not pcm:
            return ""
        try:
            return await trio.to_thread.run_sync(self._decode, bytes(pcm))
        except RuntimeError as exc:
            raise ProviderError("pocketsphinx", str(exc)) from exc

    def _decode(self, pcm: bytes) -> str:
        decoder = self._decoder
        decoder.start_utt()
        piece = 640  # 20 ms at 16 kHz: short calls, so the GIL is released between them
        for offset in range(0, len(pcm), piece):
            decoder.process_raw(pcm[offset : offset + piece], False, False)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return str(hypothesis.hypstr) if hypothesis is not None else ""
