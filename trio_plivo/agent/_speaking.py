"""The agent's speaking: sentences synthesised and streamed into the call, a mark per
sentence, and what the caller actually heard of them."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final, TypeVar

import attrs
import trio

from .._exceptions import CallClosed
from ..call import Call, Mark, MarkResult, MarkStatus
from ..protocol import ConversationKind
from ._aiter import closing
from ._bargein import SpokenSentence, heard_by_sentence
from ._config import AgentConfig
from ._conversation import Message
from ._debug import TurnTiming, log_turn
from ._errors import ProviderError
from ._protocols import Synthesizer

__all__ = ["UNTRANSCRIBED", "Sentence", "SpeakingMixin", "call_back"]

logger = logging.getLogger("trio_plivo.agent")

_T = TypeVar("_T")


#: The user message shown on a screen for speech heard without speech recognition.
UNTRANSCRIBED: Final = "(speech, not understood: no speech recognition)"


@attrs.define(eq=False)
class Sentence:
    text: str
    marks: list[Mark] = attrs.Factory(list)
    complete: bool = False
    synthesized_ms: float = 0.0
    #: Sent to the client's screen as an ``assistantMessage``.
    shown: bool = False


class SpeakingMixin:
    """Mixed into :class:`~._agent.Agent`, which owns the state."""

    if TYPE_CHECKING:
        call: Call
        config: AgentConfig
        _messages: list[Message]
        _timings: list[TurnTiming]
        _tts_rate: int
        _synth: Synthesizer | None

    async def _speak(self, text: str, sentences: list[Sentence], timing: TurnTiming | None) -> None:
        assert self._synth is not None
        sentence = Sentence(text)
        sentences.append(sentence)
        sentence.shown = await self._show("assistantMessage", text)
        chunks = self._synth.synthesize(text)
        timeout = self.config.provider_timeout
        async with (
            closing(chunks),
            closing(_timed(chunks, timeout, "TTS")) as timed,
            closing(self._metered(timed, sentence, timing)) as metered,
        ):
            try:
                await self.call.play(metered, sample_rate=self._tts_rate)
            except ProviderError:
                # The audio queued so far still plays: mark its end so we learn if it was heard.
                sentence.marks.append(await self.call.mark())
                raise
        sentence.marks.append(await self.call.mark())
        sentence.complete = True

    async def _metered(
        self, chunks: AsyncIterator[bytes], sentence: Sentence, timing: TurnTiming | None
    ) -> AsyncIterator[bytes]:
        """Pass TTS chunks to ``call.play``, timing the first and placing marks as they go."""
        bytes_per_ms = self._tts_rate * 2 / 1000.0
        since_mark = 0.0
        async for chunk in chunks:
            if timing is not None and timing.tts_first_byte is None:
                timing.tts_first_byte = trio.current_time()
            ms = len(chunk) / bytes_per_ms
            sentence.synthesized_ms += ms
            since_mark += ms
            yield chunk
            # play() resumes us only once it has queued that chunk.
            if timing is not None and timing.first_audio is None:
                timing.first_audio = trio.current_time()
            if since_mark >= self.config.mark_every_ms:
                sentence.marks.append(await self.call.mark())
                since_mark = 0.0

    async def _wait_heard(self, sentences: Sequence[Sentence], *, goodbye: bool) -> None:
        marks = [mark for sentence in sentences for mark in sentence.marks]
        if not marks:
            return
        queued_s = sum(mark.queued_ms for mark in marks) / 1000.0
        limit = self.config.goodbye_timeout if goodbye else queued_s + 10.0
        with trio.move_on_after(limit):
            await marks[-1].wait()

    async def _settle(self, sentences: Sequence[Sentence]) -> None:
        with trio.move_on_after(1.0):
            for sentence in sentences:
                for mark in sentence.marks:
                    await mark.wait()

    async def _record_answer(
        self, sentences: Sequence[Sentence], timing: TurnTiming | None, error: Exception | None
    ) -> bool:
        spoken = [
            SpokenSentence(
                text=s.text,
                marks=tuple(_result_of(m) for m in s.marks),
                complete=s.complete,
                synthesized_ms=s.synthesized_ms,
            )
            for s in sentences
        ]
        parts, interrupted = heard_by_sentence(spoken)
        heard = " ".join(part for part in parts if part)
        intended = " ".join(s.text for s in sentences)
        if interrupted:
            await self._withdraw_unheard(sentences, parts)
        if timing is not None:
            timing.interrupted = interrupted
            if error is not None:
                timing.error = str(error)
            self._finish_timing(timing)
        if intended:
            message = Message(
                role="assistant",
                content=heard,
                interrupted=interrupted,
                intended=intended if interrupted else None,
                at=trio.current_time(),
            )
            with trio.CancelScope(shield=True):
                await self._add_message(message)
        return interrupted

    async def _withdraw_unheard(self, sentences: Sequence[Sentence], parts: Sequence[str]) -> None:
        """On the client's screen, withdraw the sentences shown but not heard whole, the last
        first; the one cut in the middle comes back as the part that was heard."""
        for sentence, part in reversed(list(zip(sentences, parts, strict=True))):
            if sentence.shown and part != sentence.text:
                await self._show("cancelLastAssistantMessage", part)

    async def _show(self, kind: ConversationKind, text: str) -> bool:
        """Send a conversation line to a client with a screen (the browser page); False on
        a phone call, or once the call is over. Never delays the agent for long."""
        with trio.CancelScope(shield=True), trio.move_on_after(1.0):
            try:
                return await self.call.send_text(kind, text)
            except CallClosed:
                return False
        return False

    def _finish_timing(self, timing: TurnTiming) -> None:
        self._timings.append(timing)
        if self.config.debug:
            log_turn(self.call.call_id, timing)

    async def _add_message(self, message: Message) -> None:
        self._messages.append(message)
        if self.config.on_message is not None:
            await call_back(self.config.on_message, message)


def _result_of(mark: Mark) -> MarkResult:
    """A mark's result; one still unresolved (the agent is being torn down) counts as
    unheard."""
    if mark.result is not None:
        return mark.result
    return MarkResult(
        name=mark.name, status=MarkStatus.CLEARED, queued_ms=mark.queued_ms, played_ms=0.0
    )


async def call_back(callback: Callable[[_T], Awaitable[None] | None], value: _T) -> None:
    """Run a user callback (sync or async); its errors are logged, never fatal. Shielded and
    bounded, so it also runs while the agent is being cancelled."""
    with trio.move_on_after(5.0) as scope:
        scope.shield = True
        try:
            result = callback(value)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("agent callback %r failed", callback)


async def _timed(items: AsyncIterator[_T], limit: float, what: str) -> AsyncIterator[_T]:
    """``items``, but each must arrive within ``limit`` seconds (else ProviderError)."""
    while True:
        with trio.move_on_after(limit) as scope:
            try:
                item = await anext(items)
            except StopAsyncIteration:
                return
        if scope.cancelled_caught:
            raise ProviderError(what, f"nothing within {limit} s")
        yield item
