"""The agent's thinking: one turn at a time, the LLM's tokens cut into sentences and spoken
as they come, provider errors answered with an apology."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

import attrs
import trio

from ..call import Call
from ..protocol import ConversationKind
from ._aiter import closing
from ._config import AgentConfig
from ._conversation import EndCall, LLMEvent, Message
from ._debug import TurnTiming
from ._errors import ProviderError
from ._protocols import LLMSession
from ._sentences import SentenceChunker
from ._speaking import UNTRANSCRIBED, Sentence, _timed

__all__ = ["EndRequest", "EndedBy", "ThinkingMixin", "Turn"]

logger = logging.getLogger("trio_plivo.agent")

_T = TypeVar("_T")


@attrs.frozen
class Turn:
    text: str
    dtmf: bool
    timing: TurnTiming
    error: str | None = None
    #: False for detected speech with no transcript (no STT configured).
    transcribed: bool = True


@attrs.frozen
class EndRequest:
    goodbye: str | None


EndedBy = Literal["agent", "app", "caller", "cancelled"]


class ThinkingMixin:
    """Mixed into :class:`~._agent.Agent`, which owns the state."""

    if TYPE_CHECKING:
        call: Call
        config: AgentConfig
        _messages: list[Message]
        _answer_scope: trio.CancelScope | None
        _interruptible: bool
        _ended_by: EndedBy | None
        _llm: LLMSession | None
        _provider_errors: int
        _turn_receive: trio.MemoryReceiveChannel[Turn | EndRequest]

        def _stop(self, ended_by: EndedBy) -> None: ...
        async def _hang_up(self, by: EndedBy) -> None: ...
        async def _add_message(self, message: Message) -> None: ...
        def _finish_timing(self, timing: TurnTiming) -> None: ...
        async def _show(self, kind: ConversationKind, text: str) -> bool: ...
        async def _speak(
            self, text: str, sentences: list[Sentence], timing: TurnTiming | None
        ) -> None: ...
        async def _wait_heard(self, sentences: Sequence[Sentence], *, goodbye: bool) -> None: ...
        async def _settle(self, sentences: Sequence[Sentence]) -> None: ...
        async def _record_answer(
            self, sentences: Sequence[Sentence], timing: TurnTiming | None, error: Exception | None
        ) -> bool: ...

    async def _think(self) -> None:
        config = self.config
        if config.first_message:
            await self._answer(_fixed(config.first_message), None)
        async for item in self._turn_receive:
            if isinstance(item, EndRequest):
                if item.goodbye:
                    await self._answer(_fixed(item.goodbye, end=True), None)
                await self._hang_up("app")
                return
            timing = item.timing
            if item.error is not None:
                timing.error = item.error
                self._provider_errors += 1
                self._finish_timing(timing)
                if config.apology:
                    await self._answer(_fixed(config.apology), None, apologize=False)
                continue
            message = Message(
                role="user",
                content=item.text,
                dtmf=item.dtmf,
                transcribed=item.transcribed,
                at=trio.current_time(),
            )
            if not item.dtmf:
                await self._show("userMessage", item.text if item.transcribed else UNTRANSCRIBED)
            await self._add_message(message)
            assert self._llm is not None
            events = self._llm.respond(tuple(self._messages), system_prompt=config.system_prompt)
            if await self._answer(events, timing):
                await self._hang_up("agent")
                return

    async def _answer(
        self,
        events: AsyncIterator[LLMEvent],
        timing: TurnTiming | None,
        *,
        apologize: bool = True,
    ) -> bool:
        """Speak one answer; True when it asked to end the call and was heard to the end."""
        sentences: list[Sentence] = []
        end_call: list[EndCall] = []
        error: Exception | None = None
        self._interruptible = self.config.allow_barge_in
        scope = trio.CancelScope()
        self._answer_scope = scope
        try:
            with scope:
                try:
                    await self._stream_answer(events, sentences, end_call, timing)
                except ProviderError as exc:
                    error = exc
                # What was queued still plays (even after an error): the answer is over,
                # and its message known, once the caller has heard it.
                await self._wait_heard(sentences, goodbye=bool(end_call) and error is None)
            if scope.cancelled_caught:
                # Barge-in: the clear resolves the marks (through the call's mark tracker).
                await self._settle(sentences)
        finally:
            self._answer_scope = None
            self._interruptible = False
            interrupted = await self._record_answer(sentences, timing, error)
        if error is not None:
            self._provider_errors += 1
            logger.warning("call %s: answer failed: %s", self.call.call_id, error)
            if apologize and self.config.apology and not scope.cancelled_caught:
                await self._answer(_fixed(self.config.apology), None, apologize=False)
            return False
        return bool(end_call) and not interrupted

    async def _stream_answer(
        self,
        events: AsyncIterator[LLMEvent],
        sentences: list[Sentence],
        end_call: list[EndCall],
        timing: TurnTiming | None,
    ) -> None:
        timeout = self.config.provider_timeout
        send, receive = trio.open_memory_channel[str](8)

        failures: list[ProviderError] = []

        async def produce() -> None:
            chunker = SentenceChunker()
            with send:
                try:
                    async with closing(events), closing(_timed(events, timeout, "LLM")) as timed:
                        async for event in timed:
                            if isinstance(event, EndCall):
                                # The rest is the goodbye: nobody may cut it.
                                end_call.append(event)
                                self._interruptible = False
                                continue
                            if timing is not None and timing.llm_first_token is None:
                                timing.llm_first_token = trio.current_time()
                            for piece in chunker.feed(event):
                                await send.send(piece)
                except ProviderError as exc:
                    # Speak what was already complete; the answer ends there.
                    failures.append(exc)
                    return
                for piece in chunker.flush():
                    await send.send(piece)

        # Errors are carried out of the nursery by hand: a nursery would wrap them in an
        # exception group, and the caller handles a ProviderError per turn.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce, name="trio_plivo.agent.llm")
            try:
                async for text in receive:
                    await self._speak(text, sentences, timing)
            except ProviderError as exc:
                failures.append(exc)
                nursery.cancel_scope.cancel()
        if failures:
            raise failures[0]


async def _fixed(text: str, *, end: bool = False) -> AsyncIterator[LLMEvent]:
    """A scripted answer: ``text`` (preceded by :class:`EndCall` for a goodbye)."""
    if end:
        yield EndCall("goodbye")
    yield text
