"""In-process fake STT/LLM/TTS services with fixed latencies on the Trio clock, a counter of
the connections they open, and speech-like caller audio that webrtcvad accepts."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import attrs
import numpy as np
import trio

from trio_plivo.agent import AgentConfig, EndCall, LLMEvent, Message, ProviderError, Summary
from trio_plivo.agent import run_agent as _run_agent
from trio_plivo.call import Call
from trio_plivo.testing import CallReport, FakeProvider, run_handler


@attrs.define
class Connections:
    """Counts sessions and streams: what a leak test compares."""

    opened: int = 0
    closed: int = 0
    names: list[str] = attrs.Factory(list)

    @property
    def open_now(self) -> int:
        return self.opened - self.closed

    @asynccontextmanager
    async def track(self, name: str) -> AsyncIterator[None]:
        self.opened += 1
        self.names.append(name)
        try:
            yield
        finally:
            self.closed += 1


def speech(seconds: float, rate: int = 8000, *, level: float = 8000.0) -> bytes:
    """A voiced, syllable-modulated buzz (pitch 100-140 Hz, 25 harmonics): speech to a VAD."""
    t = np.arange(round(seconds * rate)) / rate
    f0 = 120 + 20 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    nyquist_harmonics = [k for k in range(1, 26) if k * 140 < rate / 2]
    signal = sum((1 / k) * np.sin(k * phase) for k in nyquist_harmonics)
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t - np.pi / 2)
    signal = signal * envelope
    peak = float(np.max(np.abs(signal))) or 1.0
    return (signal / peak * level).astype("<i2").tobytes()


@attrs.define
class FakeSTT:
    """Waits for the utterance to end, then answers after ``latency`` seconds."""

    transcripts: list[str]
    latency: float = 0.1
    sample_rate: int = 16000
    connections: Connections = attrs.Factory(Connections)
    #: Indices of utterances that fail with a ProviderError.
    fail_on: Sequence[int] = ()
    heard_frames: list[int] = attrs.Factory(list)
    #: Each utterance's audio as the chunks it came in (PCM16 at ``sample_rate``).
    heard_chunks: list[list[bytes]] = attrs.Factory(list)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[FakeSTT]:
        async with self.connections.track("stt-session"):
            yield self

    async def transcribe(self, audio: AsyncIterable[bytes]) -> str:
        async with self.connections.track("stt-stream"):
            frames = 0
            chunks = []
            async for chunk in audio:
                frames += 1
                chunks.append(chunk)
            index = len(self.heard_frames)
            self.heard_frames.append(frames)
            self.heard_chunks.append(chunks)
            await trio.sleep(self.latency)
            if index in self.fail_on:
                raise ProviderError("fake-stt", "boom")
            return self.transcripts[index] if index < len(self.transcripts) else ""


Reply = str | Sequence[LLMEvent] | Exception


@attrs.define
class FakeLLM:
    """Streams each reply word by word: first token after ``latency``, then one per
    ``token_gap`` seconds. A reply may be a list of events (with EndCall) or an exception."""

    replies: list[Reply]
    latency: float = 0.2
    token_gap: float = 0.01
    connections: Connections = attrs.Factory(Connections)
    seen: list[tuple[Message, ...]] = attrs.Factory(list)
    streams_finished: int = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[FakeLLM]:
        async with self.connections.track("llm-session"):
            yield self

    async def respond(
        self, messages: Sequence[Message], *, system_prompt: str
    ) -> AsyncIterator[LLMEvent]:
        index = len(self.seen)
        self.seen.append(tuple(messages))
        reply = self.replies[index] if index < len(self.replies) else "Okay."
        async with self.connections.track("llm-stream"):
            await trio.sleep(self.latency)
            if isinstance(reply, Exception):
                raise reply
            events: Sequence[LLMEvent] = [reply] if isinstance(reply, str) else reply
            first = True
            for event in events:
                if isinstance(event, EndCall):
                    yield event
                    continue
                for word in event.split(" "):
                    if not first:
                        await trio.sleep(self.token_gap)
                    yield word if first else " " + word
                    first = False
            self.streams_finished += 1


@attrs.define
class FakeTTS:
    """A square wave (never a zero sample, so heard audio is easy to measure):
    ``ms_per_char`` of audio per character, in chunks of ``chunk_ms``, the first after
    ``latency`` seconds and the rest at ``realtime`` x speed."""

    latency: float = 0.05
    ms_per_char: float = 40.0
    chunk_ms: float = 40.0
    sample_rate: int = 8000
    level: int = 3000
    #: Chunk production speed relative to real time (0: all at once).
    realtime: float = 0.0
    connections: Connections = attrs.Factory(Connections)
    texts: list[str] = attrs.Factory(list)
    fail: Callable[[str], bool] = lambda text: False

    @asynccontextmanager
    async def session(self) -> AsyncIterator[FakeTTS]:
        async with self.connections.track("tts-session"):
            yield self

    def samples_for(self, text: str) -> int:
        return round(len(text) * self.ms_per_char * self.sample_rate / 1000)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        self.texts.append(text)
        async with self.connections.track("tts-stream"):
            await trio.sleep(self.latency)
            if self.fail(text):
                raise ProviderError("fake-tts", "boom")
            total = self.samples_for(text)
            step = round(self.chunk_ms * self.sample_rate / 1000)
            period = max(2, self.sample_rate // 200)
            wave = np.where((np.arange(total) // (period // 2)) % 2 == 0, self.level, -self.level)
            pcm = wave.astype("<i2").tobytes()
            for offset in range(0, total, step):
                if offset and self.realtime:
                    await trio.sleep(self.chunk_ms / 1000 * self.realtime)
                yield pcm[offset * 2 : (offset + step) * 2]


async def run_agent_on(config: AgentConfig, fake: FakeProvider) -> tuple[CallReport, Summary]:
    """One simulated call served by an agent: the simulator's report and the agent's summary."""
    summaries: list[Summary] = []

    async def handler(call: Call) -> None:
        summaries.append(await _run_agent(call, config))

    with trio.fail_after(120):
        report = await run_handler(handler, fake)
    return report, summaries[0]
