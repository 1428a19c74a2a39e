"""What the agent needs from speech-to-text, language-model and text-to-speech services.

Each service is a small factory whose ``session()`` opens whatever the service needs for one
call (an ``httpx.AsyncClient``, a WebSocket ...) as an async context manager. The agent enters
every session inside the call's handler, so when the call ends -- the caller hangs up and
``serve_call`` cancels the handler -- every connection is closed with it. Nothing is shared
between calls unless a provider is written to share it.

All streaming methods are async iterators; the agent always closes them (``aclosing``), so a
cancelled turn (barge-in) stops the HTTP/WebSocket stream at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from ._conversation import LLMEvent, Message

__all__ = ["LLM", "STT", "TTS", "LLMSession", "Synthesizer", "Transcriber"]


class Transcriber(Protocol):
    """An open STT session for one call."""

    async def transcribe(self, audio: AsyncIterable[bytes]) -> str:
        """Transcribe one utterance.

        ``audio`` yields PCM16 little-endian mono chunks (about 100 ms each) at the STT's
        ``sample_rate`` while the caller speaks (streaming services send them as they come)
        and ends when the agent's turn detector decides the caller has finished. Returns the final text (``""`` for
        nothing recognised). Raises :class:`~trio_plivo.agent.ProviderError` on failure.
        """
        ...


class STT(Protocol):
    """A speech-to-text service."""

    @property
    def sample_rate(self) -> int:
        """The PCM rate it wants: 8000 or 16000 (the VAD runs at the same rate)."""
        ...

    def session(self) -> AbstractAsyncContextManager[Transcriber]:
        """Open the service for one call."""
        ...


class LLMSession(Protocol):
    """An open language-model session for one call."""

    def respond(
        self, messages: Sequence[Message], *, system_prompt: str
    ) -> AsyncIterator[LLMEvent]:
        """Stream the assistant's answer to the conversation so far: text deltas (``str``) as
        they are generated, and :class:`~trio_plivo.agent.EndCall` when the model decides to
        end the call. Raises :class:`~trio_plivo.agent.ProviderError` on failure."""
        ...


class LLM(Protocol):
    """A language model (or a rule engine standing in for one)."""

    def session(self) -> AbstractAsyncContextManager[LLMSession]:
        """Open the service for one call."""
        ...


class Synthesizer(Protocol):
    """An open TTS session for one call."""

    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream ``text`` as PCM16 little-endian mono chunks at the TTS's ``sample_rate``
        (chunk sizes are arbitrary, even odd). Raises
        :class:`~trio_plivo.agent.ProviderError` on failure."""
        ...


class TTS(Protocol):
    """A text-to-speech service."""

    @property
    def sample_rate(self) -> int:
        """The PCM rate of the audio it produces (the call converts it to the wire format)."""
        ...

    def session(self) -> AbstractAsyncContextManager[Synthesizer]:
        """Open the service for one call."""
        ...
