"""The voice agent: listen, think, speak, be interrupted -- all inside the call's handler.

Theory of operation
-------------------
:meth:`Agent.run` opens a nursery: the listener starts at once, while a work task opens the
STT, LLM and TTS sessions (``async with``, so they close with the agent) and then runs the
transcriber and the thinker. The three tasks are joined by bounded memory channels::

    listener ──utterances──▶ transcriber ──turns──▶ thinker ──▶ call.play / call.mark
       │  (VAD per 20 ms frame, DTMF)                    (LLM ▶ sentences ▶ TTS)
       └── barge-in: call.clear() + cancel the thinker's current answer

* The **listener** is the only reader of the call's events. It decodes caller audio once
  per frame, runs the VAD inline (microseconds per frame) and the :class:`TurnDetector`. A
  start of speech opens an utterance: its audio (with pre-roll), converted to the STT's
  rate, streams to the transcriber in ~100 ms chunks while the caller talks. It never waits
  on anyone: every hand-off is ``send_nowait`` on a bounded channel. When the call ends its
  loop ends, and the whole agent is cancelled.
* The **transcriber** runs each utterance through the STT session and hands the final text
  to the thinker as a turn -- unless the utterance was a short sound over the bot's speech
  (not a barge-in), which is dropped.
* The **thinker** takes turns one at a time: the LLM's tokens are cut into sentences by a
  producer task while this task synthesises each sentence and streams it into
  ``call.play`` as the audio arrives, placing a mark after each sentence (and every
  ``mark_every_ms`` inside one). The answer is over when the last mark has played.

A **barge-in** (caller speech of at least ``min_barge_in_ms``, or a key press, while an answer
is in flight) clears the playback and cancels the answer's scope: LLM and TTS streams are
closed on the spot. The marks then say how much of each sentence was heard, and the assistant
message is stored as *that* text (:func:`heard_text`).

**Ending the call**: an :class:`EndCall` from the model (or :meth:`Agent.end_call` from the
app) makes the rest of the answer uninterruptible; the agent waits until its last mark is
``PLAYED`` (bounded by ``goodbye_timeout``) and only then calls ``call.hangup()``, so the
goodbye is never cut. When the *caller* hangs up, the listener sees the end of the call and
cancels everything; every provider session is closed by its ``async with`` on the way out.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack, suppress
from typing import Final, TypeVar

import trio

from .._exceptions import CallClosed
from ..call import Call
from ..protocol import Dtmf, Media
from ._config import AgentConfig
from ._conversation import Message, Summary
from ._debug import TurnTiming
from ._errors import ProviderError
from ._listening import Utterance, _Listener
from ._protocols import LLMSession, Synthesizer, Transcriber
from ._speaking import SpeakingMixin, call_back
from ._thinking import EndedBy, EndRequest, ThinkingMixin, Turn

__all__ = ["Agent", "run_agent"]

logger = logging.getLogger("trio_plivo.agent")

_T = TypeVar("_T")
_TURN_BUFFER: Final = 16
_UTTERANCE_BUFFER: Final = 4


class Agent(ThinkingMixin, SpeakingMixin):
    """A voice agent on one call. ``await agent.run()`` inside the call's handler.

    ::

        async def handler(call: Call) -> None:
            await run_agent(call, AgentConfig(llm=..., tts=..., stt=...))
    """

    def __init__(self, call: Call, config: AgentConfig) -> None:
        self.call = call
        self.config = config
        self._messages: list[Message] = []
        self._timings: list[TurnTiming] = []
        self._turn_send, self._turn_receive = trio.open_memory_channel[Turn | EndRequest](
            _TURN_BUFFER
        )
        self._utterance_send, self._utterance_receive = trio.open_memory_channel[Utterance](
            _UTTERANCE_BUFFER
        )
        self._answer_scope: trio.CancelScope | None = None
        self._interruptible = False
        self._ended_by: EndedBy | None = None
        self._provider_errors = 0
        self._turn_index = 0
        self._nursery: trio.Nursery | None = None
        self._tts_rate = config.tts.sample_rate
        self._llm: LLMSession | None = None
        self._synth: Synthesizer | None = None

    def __repr__(self) -> str:
        return f"<Agent call_id={self.call.call_id!r} messages={len(self._messages)}>"

    @property
    def messages(self) -> tuple[Message, ...]:
        """The conversation so far (assistant messages as the caller heard them)."""
        return tuple(self._messages)

    @property
    def speaking(self) -> bool:
        """True while an answer is in flight (thinking, speaking, or waiting to be heard)."""
        return self._answer_scope is not None

    async def end_call(self, goodbye: str | None = None) -> None:
        """Ask the agent to end the call: after the current answer, say ``goodbye`` (not
        interruptible), wait until it has been heard, hang up."""
        try:
            await self._turn_send.send(EndRequest(goodbye))
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise CallClosed("the agent has stopped") from None

    # --- the run --------------------------------------------------------------------------

    async def run(self) -> Summary:
        """Run the conversation until the call ends; return (and pass to ``on_end``) the
        :class:`Summary`."""
        config = self.config
        started = trio.current_time()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                # Listen at once: opening the services may take a while (a TLS handshake, a
                # model load), and the caller's first words must not be dropped meanwhile.
                nursery.start_soon(self._listen, name="trio_plivo.agent.listener")
                nursery.start_soon(self._work, name="trio_plivo.agent.work")
        finally:
            self._turn_send.close()
            if self._ended_by is None:
                self._ended_by = "caller" if self.call.ended else "cancelled"
            summary = Summary(
                messages=tuple(self._messages),
                duration=trio.current_time() - started,
                ended_by=self._ended_by,
                call_id=self.call.call_id,
                turns=tuple(self._timings),
                provider_errors=self._provider_errors,
            )
            if config.on_end is not None:
                await call_back(config.on_end, summary)
        return summary

    async def _work(self) -> None:
        """Open the services (closed again when the agent stops), then transcribe and
        think."""
        config = self.config
        async with AsyncExitStack() as sessions:
            self._llm = await sessions.enter_async_context(config.llm.session())
            self._synth = await sessions.enter_async_context(config.tts.session())
            transcriber = None
            if config.stt is not None:
                transcriber = await sessions.enter_async_context(config.stt.session())
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._transcribe_loop, transcriber, name="trio_plivo.agent.stt")
                nursery.start_soon(self._think, name="trio_plivo.agent.thinker")

    def _stop(self, ended_by: EndedBy) -> None:
        if self._ended_by is None:
            self._ended_by = ended_by
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    # --- listening ------------------------------------------------------------------------

    async def _listen(self) -> None:
        stt = self.config.stt
        # Without an STT the VAD still takes turns: speech barges in, and a turn reaches the
        # dialogue as speech that was not understood.
        listener = _Listener(self, stt.sample_rate if stt is not None else None)
        async for event in self.call:
            if isinstance(event, Media):
                if event.track == "inbound":
                    await listener.feed(event.payload, trio.current_time())
            elif isinstance(event, Dtmf):
                await self._on_dtmf(event.digit, trio.current_time())
        # The call is over (hang-up, stop, our own hang-up): nothing more to do.
        self._stop("caller")

    async def _on_dtmf(self, digit: str, now: float) -> None:
        if self.speaking:
            await self._barge_in(f"key {digit}")
        timing = TurnTiming(index=self._next_turn(), speech_end=now, turn_end=now)
        try:
            self._turn_send.send_nowait(Turn(digit, True, timing))
        except trio.WouldBlock:
            logger.warning("call %s: turn backlog, key %s dropped", self.call.call_id, digit)

    async def _barge_in(self, why: str) -> None:
        scope = self._answer_scope
        if scope is None or not self._interruptible or not self.config.allow_barge_in:
            return
        self._interruptible = False
        logger.debug("call %s: barge-in (%s)", self.call.call_id, why)
        scope.cancel()
        with suppress(CallClosed):
            await self.call.clear()

    def _next_turn(self) -> int:
        self._turn_index += 1
        return self._turn_index

    # --- transcribing ---------------------------------------------------------------------

    async def _transcribe_loop(self, transcriber: Transcriber | None) -> None:
        async for utterance in self._utterance_receive:
            text = ""
            error: str | None = None
            with utterance.audio, utterance.scope:
                try:
                    if transcriber is not None:
                        text = await transcriber.transcribe(utterance.audio)
                except ProviderError as exc:
                    error = str(exc)
            if utterance.scope.cancelled_caught:
                error = f"no transcript within {self.config.provider_timeout} s"
            stt_final = trio.current_time()
            await utterance.ended.wait()
            if not utterance.accepted:
                continue  # a short sound over the bot's speech: not a turn
            if transcriber is not None and error is None and not text.strip():
                continue  # noise the STT found no words in
            timing = TurnTiming(
                index=self._next_turn(),
                speech_end=utterance.speech_end,
                turn_end=utterance.turn_end,
                stt_final=stt_final,
            )
            if error is not None:
                logger.warning("call %s: speech recognition failed: %s", self.call.call_id, error)
            turn = Turn(text.strip(), False, timing, error, transcribed=transcriber is not None)
            await self._turn_send.send(turn)

    # --- thinking and speaking ------------------------------------------------------------
    async def _hang_up(self, by: EndedBy) -> None:
        self._ended_by = by
        with suppress(CallClosed):
            await self.call.hangup()
        self._stop(by)


async def run_agent(call: Call, config: AgentConfig) -> Summary:
    """Run a voice agent on ``call`` until the call ends; return the :class:`Summary`."""
    return await Agent(call, config).run()
