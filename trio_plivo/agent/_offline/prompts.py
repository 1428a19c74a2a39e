"""Prerecorded prompts: the offline voice when espeak-ng (GPL, the ``tts`` extra) is absent.

``prompts.wav`` (8 kHz µ-law) holds every sentence the rule-based menu says and every word
it may echo back, synthesised once with espeak-ng at build time by
``tools/make_agent_wavs.py``; ``prompts.json`` indexes them. :class:`PromptTTS` says a text by
matching the longest known phrases, word by word; an unknown word becomes a short beep. The
audio is data produced by espeak-ng, not espeak-ng itself, so nothing GPL ships in the core.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
from typing import Final

import numpy as np

from ...audio import read_wav

__all__ = ["PromptTTS", "normalize_words"]

_WORD: Final = re.compile(r"[a-z0-9*#']+")
_GAP_MS: Final = 70
_BEEP_MS: Final = 150


def normalize_words(text: str) -> tuple[str, ...]:
    """Lower-case words without punctuation: the keys of the prompt table."""
    return tuple(_WORD.findall(text.lower()))


@cache
def _load() -> tuple[int, bytes, dict[tuple[str, ...], tuple[int, int]]]:
    folder = resources.files("trio_plivo.agent._offline")
    wav = read_wav(folder.joinpath("prompts.wav").read_bytes())
    index = json.loads(folder.joinpath("prompts.json").read_text())
    table = {normalize_words(text): (start, end) for text, (start, end) in index.items()}
    return wav.sample_rate, wav.pcm, table


class PromptTTS:
    """Says texts made of the prerecorded phrases and words (8 kHz)."""

    def __init__(self) -> None:
        self.sample_rate, self._pcm, self._table = _load()
        self._longest = max(len(key) for key in self._table)

    def __repr__(self) -> str:
        return f"<PromptTTS {len(self._table)} phrases>"

    def covers(self, text: str) -> bool:
        """Whether every word of ``text`` has a recording."""
        return all(isinstance(piece, tuple) for piece in self._plan(normalize_words(text)))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[PromptTTS]:
        yield self

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        gap = bytes(self.sample_rate * _GAP_MS // 1000 * 2)
        for piece in self._plan(normalize_words(text)):
            if isinstance(piece, tuple):
                start, end = piece
                yield self._pcm[start * 2 : end * 2] + gap
            else:
                yield _beep(self.sample_rate) + gap

    def _plan(self, words: tuple[str, ...]) -> list[tuple[int, int] | str]:
        """Greedy longest-phrase match: clips, and unknown words as themselves."""
        plan: list[tuple[int, int] | str] = []
        i = 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                clip = self._table.get(words[i : i + n])
                if clip is not None:
                    plan.append(clip)
                    i += n
                    break
            else:
                plan.append(words[i])
                i += 1
        return plan


def _beep(rate: int) -> bytes:
    t = np.arange(rate * _BEEP_MS // 1000) / rate
    return (np.sin(2 * np.pi * 660 * t) * 6000).astype("<i2").tobytes()
