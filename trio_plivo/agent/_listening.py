"""The agent's listener: caller audio -> VAD turns -> utterances for the transcriber."""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Final, Protocol

import attrs
import numpy as np
import trio

from ..audio import Int16Array, Resampler, decode_wire, pcm16_to_bytes
from ..call import Call
from ._config import AgentConfig
from ._turns import FRAME_MS, TurnDetector

__all__ = ["ListeningAgent", "Utterance", "_Listener"]

logger = logging.getLogger("trio_plivo.agent")

#: Caller audio goes to the STT in chunks of this much (the pre-roll and an utterance's end
#: at once): a resampler call, a channel hand-off and a provider message per chunk instead
#: of per 20 ms frame. Only the STT's view of the speech in progress waits for it; the end
#: of an utterance flushes whatever is pending.
_STT_CHUNK_MS: Final = 100


@attrs.define(eq=False)
class Utterance:
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


class ListeningAgent(Protocol):
    """What the listener uses of its :class:`~._agent.Agent`."""

    call: Call
    config: AgentConfig
    _utterance_send: trio.MemorySendChannel[Utterance]

    @property
    def speaking(self) -> bool: ...
    async def _barge_in(self, why: str) -> None: ...


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

    def __init__(self, agent: ListeningAgent, stt_rate: int | None) -> None:
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
        # Without a transcriber (stt_rate None) turns are still taken, on the VAD alone.
        self._transcribing = stt_rate is not None
        self._resampler = Resampler(wire_rate, stt_rate or wire_rate)
        self._preroll: deque[Int16Array] = deque()
        self._preroll_samples = 0
        self._preroll_limit = round(wire_rate * config.preroll_ms / 1000)
        self._stt_pending: list[Int16Array] = []
        self._stt_pending_samples = 0
        self._stt_chunk = wire_rate * _STT_CHUNK_MS // 1000
        self._max_chunks = math.ceil(config.max_utterance_s * 1000 / _STT_CHUNK_MS) + 16
        self._utterance: Utterance | None = None

    async def feed(self, payload: bytes, now: float) -> None:
        samples = decode_wire(payload, self._format)
        utterance = self._utterance
        if not self._transcribing:
            pass
        elif utterance is not None:
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

    def _transcribe(self, utterance: Utterance, samples: Int16Array) -> bool:
        """Queue wire samples for the STT, handing over a chunk at its rate once there is
        enough; False when the transcriber cannot take more."""
        self._stt_pending.append(samples)
        self._stt_pending_samples += samples.size
        if self._stt_pending_samples < self._stt_chunk:
            return True
        return self._hand_over(utterance)

    def _hand_over(self, utterance: Utterance, *, last: bool = False) -> bool:
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
        utterance = Utterance(
            frames=send,
            audio=receive,
            started_at=self._detector.started_at,
            started_busy=agent.speaking,
        )
        if self._preroll and self._transcribing:
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

    def _end(self, utterance: Utterance, now: float) -> None:
        if self._transcribing:
            self._hand_over(utterance, last=True)
        utterance.speech_end = self._detector.speech_end
        utterance.turn_end = now
        utterance.accepted = utterance.accepted or not utterance.started_busy
        utterance.frames.close()
        utterance.scope.deadline = now + self._agent.config.provider_timeout
        utterance.ended.set()
        self._utterance = None


def _offer(channel: trio.MemorySendChannel[bytes], frame: bytes) -> bool:
    """Hand a frame to the transcriber without waiting; False when it cannot take more."""
    try:
        channel.send_nowait(frame)
    except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
        return False
    return True
