"""The voice agent's own latency: end of caller speech -> first audio frame sent, minus
what the (fake) providers took.

Real clock, in process: each call is a :class:`~trio_plivo.testing.FakePlivo` on a memory
transport against ``serve_call`` + :func:`~trio_plivo.agent.run_agent`, with fake providers of
fixed latency (STT final, LLM first token, TTS first byte, all ``trio.sleep``). The caller
says a 0.4 s speech-like phrase, then waits for the answer, ``turns`` times. Virtual time
(autojump) would hide the CPU cost we want to see, so the clock is real and the runs take
real seconds (about 1.3 s per turn).

Per turn, from the simulator's view (``playAudio`` arrival on the memory transport):

* ``total``: scripted end of speech -> first ``playAudio``;
* ``added``: ``total`` - end-of-turn silence - STT - LLM - TTS latencies: what the agent
  adds, turn detection included (frame quantisation, the VAD's hangover beyond the 80 ms
  the detector compensates);
* ``pipeline``: from the agent's summary: turn detected -> first audio handed to the call,
  minus the provider latencies: the agent's scheduling, channels, sentence cutting, TTS
  hand-off and the call's sender -- what the 30 ms target is about.

The simulator runs in the same Trio thread as the agents and costs about twice as much CPU
per frame as the agent (cProfile: ~75 µs per inbound frame in the agent's listener -- decode,
8->16 kHz resample, VAD -- against ~150 µs in FakePlivo): on one core, 100 simulated calls
saturate the thread and the numbers then measure the simulator's backlog, not the agent. A
true 100-call figure needs the callers in another process (``bench/loadgen.py`` style).

``python -m bench agent`` (1 call x 100 turns, 50 and 100 calls x 3 turns), or
``python bench/bench_agent.py --calls 100 --turns 3``.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager

import numpy as np
import trio

from trio_plivo import L16_8K
from trio_plivo.agent import AgentConfig, LLMEvent, Message, Summary, run_agent
from trio_plivo.call import Call, serve_call
from trio_plivo.testing import CallerAudio, CallReport, FakePlivo
from trio_plivo.transport import MessageTransport

RATE = 8000
STT_S, LLM_S, TTS_S = 0.100, 0.150, 0.050
END_OF_TURN_MS = 300.0
SPEECH_S, SILENCE_S, LEAD_IN_S = 0.4, 0.9, 0.3


def speech(seconds: float) -> bytes:
    """A voiced, syllable-modulated buzz: speech to webrtcvad."""
    t = np.arange(round(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * 3 * t)) / RATE
    signal = sum((1 / k) * np.sin(k * phase) for k in range(1, 26) if k * 140 < RATE / 2)
    signal = signal * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t - np.pi / 2))
    return (signal / np.max(np.abs(signal)) * 8000).astype("<i2").tobytes()


class Stt:
    sample_rate = 16000

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Stt]:
        yield self

    async def transcribe(self, audio: AsyncIterable[bytes]) -> str:
        async for _ in audio:
            pass
        await trio.sleep(STT_S)
        return "question"


class Llm:
    @asynccontextmanager
    async def session(self) -> AsyncIterator[Llm]:
        yield self

    async def respond(
        self, messages: Sequence[Message], *, system_prompt: str
    ) -> AsyncIterator[LLMEvent]:
        await trio.sleep(LLM_S)
        yield "Sure."


class Tts:
    sample_rate = 16000

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Tts]:
        yield self

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        await trio.sleep(TTS_S)
        tone = (np.sin(np.arange(3200) * 2 * np.pi * 440 / 16000) * 4000).astype("<i2")
        yield tone.tobytes()  # 200 ms


def caller(turns: int) -> CallerAudio:
    audio = CallerAudio.silence(LEAD_IN_S)
    for _ in range(turns):
        audio += CallerAudio.from_pcm16(speech(SPEECH_S), RATE) + CallerAudio.silence(SILENCE_S)
    return audio


def speech_ends(turns: int) -> list[float]:
    period = SPEECH_S + SILENCE_S
    return [LEAD_IN_S + k * period + SPEECH_S for k in range(turns)]


async def one_call(turns: int, reports: list[CallReport], summaries: list[Summary]) -> None:
    config = AgentConfig(
        stt=Stt(), llm=Llm(), tts=Tts(), end_of_turn_ms=END_OF_TURN_MS, min_barge_in_ms=300
    )

    async def handler(call: Call) -> None:
        summaries.append(await run_agent(call, config))

    async def app(transport: MessageTransport) -> None:
        await serve_call(transport, handler, handler_grace=0.5)

    fake = FakePlivo(format=L16_8K, audio=caller(turns), phrase_gap=0.3)
    reports.append(await fake.run(app))


def latencies(report: CallReport, turns: int) -> list[float]:
    plays = [e.at for e in report.events_named("playAudio", "from_app")]
    out = []
    for end in speech_ends(turns):
        first = next((t for t in plays if t > end), None)
        if first is not None and first < end + SPEECH_S + SILENCE_S:
            out.append(first - end)
    return out


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) * 1000.0


async def measure(calls: int, turns: int) -> dict[str, float]:
    reports: list[CallReport] = []
    summaries: list[Summary] = []
    async with trio.open_nursery() as nursery:
        for _ in range(calls):
            nursery.start_soon(one_call, turns, reports, summaries)
    totals = [t for report in reports for t in latencies(report, turns)]
    providers = END_OF_TURN_MS / 1000 + STT_S + LLM_S + TTS_S
    added = [t - providers for t in totals]
    pipeline = [
        (turn.first_audio - turn.turn_end) - (STT_S + LLM_S + TTS_S)
        for summary in summaries
        for turn in summary.turns
        if turn.first_audio is not None
    ]
    gaps = [r.gap_stats.p99 for r in reports]
    return {
        "turns": len(totals),
        "expected": calls * turns,
        "total_p50": pct(totals, 50),
        "total_p99": pct(totals, 99),
        "added_p50": pct(added, 50),
        "added_p99": pct(added, 99),
        "pipeline_p50": pct(pipeline, 50),
        "pipeline_p99": pct(pipeline, 99),
        "gap_p99_worst": max(gaps) * 1000.0 if gaps else 0.0,
    }


def show(label: str, r: dict[str, float]) -> None:
    print(
        f"{label:22} turns {int(r['turns'])}/{int(r['expected'])}  "
        f"total p50 {r['total_p50']:6.1f} p99 {r['total_p99']:6.1f} ms | "
        f"added p50 {r['added_p50']:5.1f} p99 {r['added_p99']:5.1f} ms | "
        f"pipeline p50 {r['pipeline_p50']:5.1f} p99 {r['pipeline_p99']:5.1f} ms | "
        f"worst call gap p99 {r['gap_p99_worst']:.0f} ms",
        flush=True,
    )


def run(calls: int, turns: int) -> dict[str, float]:
    return trio.run(measure, calls, turns)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--turns", type=int, default=None)
    args = parser.parse_args(argv if argv is not None else [])
    print(
        f"providers: STT {STT_S * 1000:.0f} ms, LLM first token {LLM_S * 1000:.0f} ms, TTS first "
        f"byte {TTS_S * 1000:.0f} ms; end of turn {END_OF_TURN_MS:.0f} ms; real clock"
    )
    if args.calls is not None or args.turns is not None:
        calls, turns = args.calls or 1, args.turns or 10
        show(f"{calls} call(s) x {turns} turns", run(calls, turns))
        return
    show("1 call x 100 turns", run(1, 100))
    show("50 calls x 3 turns", run(50, 3))
    show("100 calls x 3 turns", run(100, 3))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
