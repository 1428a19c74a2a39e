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

import inspect
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Final, Literal, TypeVar

import attrs
import numpy as np
import trio

from .._exceptions import CallClosed
from ..audio import Int16Array, Resampler, decode_wire, pcm16_to_bytes
from ..call import Call, Mark, MarkResult, MarkStatus
from ..protocol import Dtmf, Media
from ._bargein import SpokenSentence, heard_text
from ._config import AgentConfig
from ._conversation import EndCall, LLMEvent, Message, Summary
from ._debug import TurnTiming, log_turn
from ._errors import ProviderError
from ._protocols import LLMSession, Synthesizer, Transcriber
from ._sentences import SentenceChunker
from ._turns import FRAME_MS, TurnDetector

__all__ = ["Agent", "run_agent"]

logger = logging.getLogger("trio_plivo.agent")

_T = TypeVar("_T")
_TURN_BUFFER: Final = 16
_UTTERANCE_BUFFER: Final = 4
#: Caller audio goes to the STT in chunks of this much (the pre-roll and an utterance's end
#: at once): a resampler call, a channel hand-off and a provider message per chunk instead
#: of per 20 ms frame. Only the STT's view of the speech in progress waits for it; the end
#: of an utterance flushes whatever is pending.
_STT_CHUNK_MS: Final = 100


@attrs.define(eq=False)
class _Utterance:
    """One stretch of caller speech, streaming to the transcriber while it lasts."""

    frames: trio.MemorySendChannel[bytes]
    audio: trio.MemoryReceiveChannel[bytes]
    started_at: float
    started_busy: bool
    accepted: bool = False
    speech_end: float = 0.0
    turn_end: float = 0.0
    ended: trio.Event = attrs.Factory(trio.Event)
    #: Bounds the transcription once the utterance has ended.
    scope: trio.CancelScope = attrs.Factory(trio.CancelScope)


@attrs.frozen
class _Turn:
    text: str
    dtmf: bool
    timing: TurnTiming
    error: str | None = None


@attrs.frozen
class _EndRequest:
    goodbye: str | None


@attrs.define(eq=False)
class _Sentence:
    text: str
    marks: list[Mark] = attrs.Factory(list)
    complete: bool = False
    synthesized_ms: float = 0.0


EndedBy = Literal["agent", "app", "caller", "cancelled"]


class Agent:
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
        self._turn_send, self._turn_receive = trio.open_memory_channel[_Turn | _EndRequest](
            _TURN_BUFFER
        )
        self._utterance_send, self._utterance_receive = trio.open_memory_channel[_Utterance](
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
            await self._turn_send.send(_EndRequest(goodbye))
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
                await _call_back(config.on_end, summary)
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
                if transcriber is not None:
                    nursery.start_soon(
                        self._transcribe_loop, transcriber, name="trio_plivo.agent.stt"
                    )
                nursery.start_soon(self._think, name="trio_plivo.agent.thinker")

    def _stop(self, ended_by: EndedBy) -> None:
        if self._ended_by is None:
            self._ended_by = ended_by
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    # --- listening ------------------------------------------------------------------------

    async def _listen(self) -> None:
        config = self.config
        call = self.call
        if config.stt is None:
            # Key presses only: no VAD, no speech barge-in (nobody would understand it).
            async for event in call:
                if isinstance(event, Dtmf):
                    await self._on_dtmf(event.digit, trio.current_time())
            self._stop("caller")
            return
        listener = _Listener(self, config.stt.sample_rate)
        async for event in call:
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
            self._turn_send.send_nowait(_Turn(digit, True, timing))
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

    async def _transcribe_loop(self, transcriber: Transcriber) -> None:
        async for utterance in self._utterance_receive:
            text = ""
            error: str | None = None
            with utterance.audio, utterance.scope:
                try:
                    text = await transcriber.transcribe(utterance.audio)
                except ProviderError as exc:
                    error = str(exc)
            if utterance.scope.cancelled_caught:
                error = f"no transcript within {self.config.provider_timeout} s"
            stt_final = trio.current_time()
            await utterance.ended.wait()
            if not utterance.accepted:
                continue  # a short sound over the bot's speech: not a turn
            if error is None and not text.strip():
                continue  # noise the STT found no words in
            timing = TurnTiming(
                index=self._next_turn(),
                speech_end=utterance.speech_end,
                turn_end=utterance.turn_end,
                stt_final=stt_final,
            )
            if error is not None:
                logger.warning("call %s: speech recognition failed: %s", self.call.call_id, error)
            await self._turn_send.send(_Turn(text.strip(), False, timing, error))

    # --- thinking and speaking ------------------------------------------------------------

    async def _think(self) -> None:
        config = self.config
        if config.first_message:
            await self._answer(_fixed(config.first_message), None)
        async for item in self._turn_receive:
            if isinstance(item, _EndRequest):
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
            await self._add_message(
                Message(role="user", content=item.text, dtmf=item.dtmf, at=trio.current_time())
            )
            assert self._llm is not None
            events = self._llm.respond(tuple(self._messages), system_prompt=config.system_prompt)
            if await self._answer(events, timing):
                await self._hang_up("agent")
                return

    async def _hang_up(self, by: EndedBy) -> None:
        self._ended_by = by
        with suppress(CallClosed):
            await self.call.hangup()
        self._stop(by)

    async def _answer(
        self,
        events: AsyncIterator[LLMEvent],
        timing: TurnTiming | None,
        *,
        apologize: bool = True,
    ) -> bool:
        """Speak one answer; True when it asked to end the call and was heard to the end."""
        sentences: list[_Sentence] = []
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
        sentences: list[_Sentence],
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
                    async with _closing(events), _closing(_timed(events, timeout, "LLM")) as timed:
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

    async def _speak(
        self, text: str, sentences: list[_Sentence], timing: TurnTiming | None
    ) -> None:
        assert self._synth is not None
        sentence = _Sentence(text)
        sentences.append(sentence)
        chunks = self._synth.synthesize(text)
        timeout = self.config.provider_timeout
        async with (
            _closing(chunks),
            _closing(_timed(chunks, timeout, "TTS")) as timed,
            _closing(self._metered(timed, sentence, timing)) as metered,
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
        self, chunks: AsyncIterator[bytes], sentence: _Sentence, timing: TurnTiming | None
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

    async def _wait_heard(self, sentences: Sequence[_Sentence], *, goodbye: bool) -> None:
        marks = [mark for sentence in sentences for mark in sentence.marks]
        if not marks:
            return
        queued_s = sum(mark.queued_ms for mark in marks) / 1000.0
        limit = self.config.goodbye_timeout if goodbye else queued_s + 10.0
        with trio.move_on_after(limit):
            await marks[-1].wait()

    async def _settle(self, sentences: Sequence[_Sentence]) -> None:
        with trio.move_on_after(1.0):
            for sentence in sentences:
                for mark in sentence.marks:
                    await mark.wait()

    async def _record_answer(
        self, sentences: Sequence[_Sentence], timing: TurnTiming | None, error: Exception | None
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
        heard, interrupted = heard_text(spoken)
        intended = " ".join(s.text for s in sentences)
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

    def _finish_timing(self, timing: TurnTiming) -> None:
        self._timings.append(timing)
        if self.config.debug:
            log_turn(self.call.call_id, timing)

    async def _add_message(self, message: Message) -> None:
        self._messages.append(message)
        if self.config.on_message is not None:
            await _call_back(self.config.on_message, message)


class _Listener:
    """Caller audio -> VAD turns -> utterances for the transcriber (the listener task's state).

    Each inbound payload is decoded once, to samples at the wire rate. The VAD runs on them as
    they come (8 or 16 kHz PCM, no resampling: a resampler would hold back tens of
    milliseconds and delay every end of turn). Only an utterance's audio is converted to the
    STT's rate, and most of a call is not the caller talking: between utterances the last
    ``preroll_ms`` of wire samples are kept, and a start of speech converts them in one piece
    with a fresh resampler, so the utterance begins before the frames the VAD needed to be
    sure. The audio goes to the STT in chunks of ``_STT_CHUNK_MS``; the end of an utterance
    flushes what is pending and the resampler's held-back tail into it.
    """

    def __init__(self, agent: Agent, stt_rate: int) -> None:
        config = agent.config
        call = agent.call
        self._agent = agent
        self._format = call.media_format
        wire_rate = self._format.sample_rate
        self._detector = TurnDetector(
            config.vad(wire_rate), start_ms=config.min_speech_ms, end_ms=config.end_of_turn_ms
        )
        self._vad_frame = wire_rate * FRAME_MS // 1000 * 2
        self._vad_pending = bytearray()
        self._resampler = Resampler(wire_rate, stt_rate)
        self._preroll: deque[Int16Array] = deque()
        self._preroll_samples = 0
        self._preroll_limit = round(wire_rate * config.preroll_ms / 1000)
        self._stt_pending: list[Int16Array] = []
        self._stt_pending_samples = 0
        self._stt_chunk = wire_rate * _STT_CHUNK_MS // 1000
        self._max_chunks = math.ceil(config.max_utterance_s * 1000 / _STT_CHUNK_MS) + 16
        self._utterance: _Utterance | None = None

    async def feed(self, payload: bytes, now: float) -> None:
        samples = decode_wire(payload, self._format)
        utterance = self._utterance
        if utterance is not None:
            if not self._transcribe(utterance, samples):
                self._end(utterance, now)  # too long: transcribe what we have
        elif samples.size:
            preroll = self._preroll
            preroll.append(samples)
            self._preroll_samples += samples.size
            while self._preroll_samples - preroll[0].size >= self._preroll_limit:
                self._preroll_samples -= preroll.popleft().size
        pcm = samples.astype("<i2", copy=False).tobytes()
        size = self._vad_frame
        if len(pcm) == size and not self._vad_pending:
            await self._on_frame(pcm, now)  # the usual case: one wire frame, one VAD frame
            return
        self._vad_pending += pcm
        while len(self._vad_pending) >= size:
            frame = bytes(self._vad_pending[:size])
            del self._vad_pending[:size]
            await self._on_frame(frame, now)

    def _transcribe(self, utterance: _Utterance, samples: Int16Array) -> bool:
        """Queue wire samples for the STT, handing over a chunk at its rate once there is
        enough; False when the transcriber cannot take more."""
        self._stt_pending.append(samples)
        self._stt_pending_samples += samples.size
        if self._stt_pending_samples < self._stt_chunk:
            return True
        return self._hand_over(utterance)

    def _hand_over(self, utterance: _Utterance, *, last: bool = False) -> bool:
        """Convert the pending samples (and at the ``last``, the resampler's tail) and hand
        them to the transcriber; False when it cannot take more."""
        pending = self._stt_pending
        samples = pending[0] if len(pending) == 1 else np.concatenate(pending)
        pending.clear()
        self._stt_pending_samples = 0
        converted = self._resampler.process(samples) if samples.size else samples
        if last:
            tail = self._resampler.flush()  # and a fresh stream for the next utterance
            if tail.size:
                converted = np.concatenate((converted, tail))
        return not converted.size or _offer(utterance.frames, pcm16_to_bytes(converted))

    async def _on_frame(self, frame: bytes, now: float) -> None:
        agent = self._agent
        detector = self._detector
        change = detector.feed(frame, now)
        if change == "start":
            self._start(now)
            return
        utterance = self._utterance
        if utterance is None:
            return
        if change == "end":
            self._end(utterance, now)
            return
        if not utterance.accepted and detector.speech_ms() >= agent.config.min_barge_in_ms:
            # Long enough to be meant: a turn, and a barge-in if the bot is talking.
            utterance.accepted = True
            if agent.speaking:
                await agent._barge_in("speech")

    def _start(self, now: float) -> None:
        agent = self._agent
        send, receive = trio.open_memory_channel[bytes](self._max_chunks)
        utterance = _Utterance(
            frames=send,
            audio=receive,
            started_at=self._detector.started_at,
            started_busy=agent.speaking,
        )
        if self._preroll:
            self._stt_pending.extend(self._preroll)
            self._stt_pending_samples += self._preroll_samples
            self._hand_over(utterance)
        self._preroll.clear()
        self._preroll_samples = 0
        try:
            agent._utterance_send.send_nowait(utterance)
        except trio.WouldBlock:
            logger.warning("call %s: transcriber backlog, utterance dropped", agent.call.call_id)
            self._resampler.reset()
            send.close()
            return
        self._utterance = utterance

    def _end(self, utterance: _Utterance, now: float) -> None:
        self._hand_over(utterance, last=True)
        utterance.speech_end = self._detector.speech_end
        utterance.turn_end = now
        utterance.accepted = utterance.accepted or not utterance.started_busy
        utterance.frames.close()
        utterance.scope.deadline = now + self._agent.config.provider_timeout
        utterance.ended.set()
        self._utterance = None


async def run_agent(call: Call, config: AgentConfig) -> Summary:
    """Run a voice agent on ``call`` until the call ends; return the :class:`Summary`."""
    return await Agent(call, config).run()


@asynccontextmanager
async def _closing(items: AsyncIterator[_T]) -> AsyncIterator[AsyncIterator[_T]]:
    """Close an async iterator (generator, HTTP stream ...) on the way out, whatever
    happened: a barge-in must stop the provider's stream, not leave it to the GC."""
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


def _offer(channel: trio.MemorySendChannel[bytes], frame: bytes) -> bool:
    """Hand a frame to the transcriber without waiting; False when it cannot take more."""
    try:
        channel.send_nowait(frame)
    except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
        return False
    return True


def _result_of(mark: Mark) -> MarkResult:
    """A mark's result; one still unresolved (the agent is being torn down) counts as
    unheard."""
    if mark.result is not None:
        return mark.result
    return MarkResult(
        name=mark.name, status=MarkStatus.CLEARED, queued_ms=mark.queued_ms, played_ms=0.0
    )


async def _fixed(text: str, *, end: bool = False) -> AsyncIterator[LLMEvent]:
    """A scripted answer: ``text`` (preceded by :class:`EndCall` for a goodbye)."""
    if end:
        yield EndCall("goodbye")
    yield text


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


async def _call_back(callback: Callable[[_T], Awaitable[None] | None], value: _T) -> None:
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
