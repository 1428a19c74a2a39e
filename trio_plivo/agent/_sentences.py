"""Cutting a stream of LLM tokens into pieces worth sending to TTS.

Speech starts as soon as the first sentence is complete, so the first piece decides the
latency: a sentence ends at ``.``, ``!``, ``?`` (or ``…``) followed by whitespace, or at a line
break, or right away when the text so far ends with one (except after a number, a single
letter or a common abbreviation: "3." may become "3.5", "Dr." is not an end); a long clause may also end at ``,``, ``;`` or ``:`` so one rambling sentence does not
hold the audio back. Markdown decoration (``*``, ``#``, backticks) is dropped: TTS would read
it aloud.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["SentenceChunker", "clean_for_speech"]

_STRONG: Final = re.compile(r"[.!?…]+[\"')\]]*\s|\n+")
#: A sentence end at the very end of the text so far: cut at once rather than wait a token
#: for the space after it -- unless it could be a decimal point or an abbreviation.
_END_NOW: Final = re.compile(r"[.!?…]+[\"')\]]*$")
_ABBREVIATIONS: Final = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "eg", "ie", "jr", "sr", "no", "mt", "prof"}
)
_WEAK: Final = re.compile(r"[,;:]\s")
_MARKUP: Final = re.compile(r"[*#`_]+")
_SPACES: Final = re.compile(r"\s+")


def clean_for_speech(text: str) -> str:
    """``text`` without markdown decoration and with runs of whitespace collapsed."""
    return _SPACES.sub(" ", _MARKUP.sub("", text)).strip()


def _ends_sentence(before: str, punctuation: str) -> bool:
    """Whether ``punctuation`` after ``before`` ends a sentence (not "Dr.", "U.S.", "3.")."""
    if not punctuation.lstrip().startswith((".", "…")) or "\n" in punctuation:
        return True
    word = before.rsplit(None, 1)[-1].rsplit(".", 1)[-1] if before.strip() else ""
    return len(word) > 1 and not word[-1].isdigit() and word.lower() not in _ABBREVIATIONS


class SentenceChunker:
    """Feed tokens with :meth:`feed`, get finished pieces back; :meth:`flush` at the end."""

    def __init__(self, *, clause_chars: int = 60) -> None:
        #: A clause at least this long may end at a comma, semicolon or colon.
        self.clause_chars = clause_chars
        self._buffer = ""

    def feed(self, token: str) -> list[str]:
        """Add ``token``; return the pieces it completed (cleaned, never empty)."""
        self._buffer += token
        pieces: list[str] = []
        while True:
            cut = self._find_cut()
            if cut is None:
                break
            piece, self._buffer = self._buffer[:cut], self._buffer[cut:]
            cleaned = clean_for_speech(piece)
            if cleaned:
                pieces.append(cleaned)
        return pieces

    def flush(self) -> list[str]:
        """The rest of the text, once the stream has ended."""
        cleaned = clean_for_speech(self._buffer)
        self._buffer = ""
        return [cleaned] if cleaned else []

    def _find_cut(self) -> int | None:
        for strong in _STRONG.finditer(self._buffer):
            if _ends_sentence(self._buffer[: strong.start()], strong.group()):
                return strong.end()
        end = _END_NOW.search(self._buffer)
        if end is not None and _ends_sentence(self._buffer[: end.start()], end.group()):
            return len(self._buffer)
        if len(self._buffer) >= self.clause_chars:
            weak = None
            for weak in _WEAK.finditer(self._buffer):
                if weak.end() >= self.clause_chars // 2:
                    break
            if weak is not None and weak.end() >= self.clause_chars // 2:
                return weak.end()
        return None
