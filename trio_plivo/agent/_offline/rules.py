"""The offline dialogue: a rule-based menu standing in for the language model.

Keys (DTMF) always work; speech works when an STT is configured (the pocketsphinx extra with
its menu grammar, or any other). It greets, offers a menu, answers, echoes what it
understood, and says goodbye and ends the call on 9 / "goodbye". Every sentence it can say
is in the prerecorded prompts, so it speaks without a TTS engine too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Final

from .._conversation import EndCall, LLMEvent, Message
from .prompts import normalize_words

__all__ = ["DIGIT_WORDS", "PHRASES", "RuleDialogue", "VOCABULARY"]

GREETING: Final = "Hello! This is the trio plivo demo agent."
MENU: Final = "Press or say one for a fun fact, two to hear the menu again, or nine to hang up."
FACT: Final = "Here is a fun fact. Every call runs in its own Trio nursery, so nothing leaks."
GOODBYE: Final = "Thank you for calling. Goodbye!"
UNKNOWN: Final = "Sorry, I did not understand."
YOU_PRESSED: Final = "You pressed"
I_HEARD: Final = "I heard"

DIGIT_WORDS: Final = {
    "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
    "6": "six", "7": "seven", "8": "eight", "9": "nine", "*": "star", "#": "pound",
    "A": "A", "B": "B", "C": "C", "D": "D",
}  # fmt: skip

#: Words the speech grammar knows (and the prompts can echo).
VOCABULARY: Final = (
    *[w for d, w in DIGIT_WORDS.items() if d.isdigit()],
    "fact", "menu", "repeat", "help", "goodbye", "bye", "stop", "yes", "no", "agent", "hello",
)  # fmt: skip

#: Every phrase the dialogue says: what the prompt recorder must record.
PHRASES: Final = (
    GREETING,
    MENU,
    FACT,
    GOODBYE,
    UNKNOWN,
    YOU_PRESSED,
    I_HEARD,
    *VOCABULARY,
    "star",
    "pound",
    "A",
    "B",
    "C",
    "D",
)

_ONE: Final = frozenset({"1", "one", "fact"})
_TWO: Final = frozenset({"2", "two", "menu", "repeat", "help", "hello"})
_NINE: Final = frozenset({"9", "nine", "goodbye", "bye", "stop"})


class RuleDialogue:
    """The menu as an :class:`~trio_plivo.agent.LLM`: no network, no model."""

    first_message: Final = f"{GREETING} {MENU}"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[RuleDialogue]:
        yield self

    async def respond(
        self, messages: Sequence[Message], *, system_prompt: str
    ) -> AsyncIterator[LLMEvent]:
        for event in self.answer(messages[-1] if messages else None):
            yield event

    def answer(self, message: Message | None) -> list[LLMEvent]:
        """The reply to the caller's last message."""
        if message is None or message.role != "user":
            return [MENU]
        words = set(normalize_words(message.content)) if not message.dtmf else {message.content}
        if words & _NINE:
            return [EndCall("caller chose to hang up"), GOODBYE]
        if words & _ONE:
            return [FACT, " ", MENU]
        if words & _TWO:
            return [MENU]
        if message.dtmf:
            return [f"{YOU_PRESSED} {DIGIT_WORDS.get(message.content, message.content)}. {MENU}"]
        heard = " ".join(w for w in normalize_words(message.content) if w in VOCABULARY)
        if heard:
            return [f"{I_HEARD} {heard}. {MENU}"]
        return [f"{UNKNOWN} {MENU}"]
