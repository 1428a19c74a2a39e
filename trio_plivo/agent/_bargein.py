"""What the caller actually heard of an answer, from the marks placed while it played.

The agent places a mark after each sentence (and every few hundred milliseconds inside a long
one). Each :class:`~trio_plivo.call.MarkResult` says how much of the audio queued before it
the caller heard: all of it when ``PLAYED``; an estimate from the playout clock when the
audio was cleared (barge-in) or the call ended. Sentences whose marks all played were heard
whole; in the sentence where playback stopped, the heard share of its audio is mapped onto
its text (speech rate is close enough to uniform within a sentence) and cut back to the last
whole word; nothing after it was heard.

This is what goes into the conversation, so the model does not believe it said things the
caller never heard (and does not repeat them either).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..call import MarkResult, MarkStatus

__all__ = ["SpokenSentence", "heard_by_sentence", "heard_text"]

#: Speaking rate assumed for a sentence that was cut before its audio was fully synthesised
#: and no complete sentence gives a better estimate (about 15 characters a second).
DEFAULT_MS_PER_CHAR = 65.0


@attrs.frozen(kw_only=True)
class SpokenSentence:
    """One sentence of an answer and the outcome of the marks placed in its audio."""

    text: str
    marks: tuple[MarkResult, ...]
    #: Every chunk of its audio was synthesised and queued (its last mark was placed).
    complete: bool
    #: Milliseconds of its audio synthesised (some of it maybe not yet marked).
    synthesized_ms: float = 0.0

    @property
    def played_whole(self) -> bool:
        return (
            self.complete
            and bool(self.marks)
            and all(m.status is MarkStatus.PLAYED for m in self.marks)
        )

    @property
    def queued_ms(self) -> float:
        return sum(m.queued_ms for m in self.marks)

    @property
    def heard_ms(self) -> float:
        return sum(m.played_ms for m in self.marks)


def _cut_at_word(text: str, chars: int) -> str:
    """The longest prefix of whole words of ``text`` within ``chars`` characters."""
    if chars >= len(text):
        return text
    if chars <= 0:
        return ""
    if text[chars].isspace():
        return text[:chars].rstrip()
    space = text.rfind(" ", 0, chars)
    return text[:space].rstrip() if space > 0 else ""


def heard_text(sentences: Sequence[SpokenSentence]) -> tuple[str, bool]:
    """The text the caller heard, and whether the answer was cut short.

    Whole sentences while their marks were played; then the heard share of the first
    sentence that was not fully played, to the last whole word; nothing after that.
    """
    parts, interrupted = heard_by_sentence(sentences)
    return " ".join(part for part in parts if part), interrupted


def heard_by_sentence(sentences: Sequence[SpokenSentence]) -> tuple[list[str], bool]:
    """What the caller heard of each sentence (``""`` for one not heard at all), and
    whether the answer was cut short (see :func:`heard_text`)."""
    complete_ms = [s.queued_ms for s in sentences if s.played_whole and s.text]
    complete_chars = [len(s.text) for s in sentences if s.played_whole and s.text]
    ms_per_char = (
        sum(complete_ms) / sum(complete_chars) if sum(complete_chars) else DEFAULT_MS_PER_CHAR
    )
    heard: list[str] = []
    for index, sentence in enumerate(sentences):
        if sentence.played_whole:
            heard.append(sentence.text)
            continue
        total_ms = sentence.queued_ms if sentence.complete else 0.0
        if not sentence.complete:
            # Its audio length is unknown: at least what was synthesised, and about as long
            # as the speaking rate says.
            total_ms = max(sentence.synthesized_ms, len(sentence.text) * ms_per_char)
        fraction = sentence.heard_ms / total_ms if total_ms > 0 else 0.0
        # Round down (a word is heard only once all of it played); the epsilon keeps an
        # exact boundary from being lost to float error.
        heard.append(_cut_at_word(sentence.text, int(fraction * len(sentence.text) + 1e-6)))
        heard += [""] * (len(sentences) - index - 1)
        return heard, True
    return heard, False
