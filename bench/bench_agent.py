"""The voice agent's own latency: end of caller speech -> first audio frame sent, minus
what the (fake) providers took.

Real clock, real sockets, two kinds of process. This process runs the agents:
:func:`~trio_plivo.serve` on a loopback port with :func:`~trio_plivo.agent.run_agent` as the
handler and fake providers of fixed latency (STT final, LLM first token, TTS first byte,
all ``trio.sleep``). The simulated callers run in other processes
(:mod:`bench.agent_callers`, one per 50 calls), so the CPU this process spends is the
agent's (plus the server and the call under it), and the callers' own cost cannot delay it.
Each caller says a 0.4 s speech-like phrase, then waits 0.9 s for the answer, ``turns``
times; the calls' phrases are staggered over a turn period and all calls stream for the
whole run. Virtual time (autojump) would hide the CPU cost we want to see, so the runs take
real seconds (about 1.3 s per turn).

Per turn:

* ``added`` (caller side: both times on the caller process's clock): scripted end of
  speech -> first ``playAudio`` arrival, minus the end-of-turn silence and the STT, LLM
  and TTS latencies: what the agent adds, turn detection included, and the loopback hop.
  About 20 ms of it at any load is webrtcvad's hangover on this phrase (voiced for 100-120
  ms after a phrase of 0.3 s or more, 80 ms after a 0.1 s one; the detector takes 80 ms
  off) and about 3 ms the fake providers' ``trio.sleep`` waking up to 1 ms late each;
* ``pipeline`` (agent side, from the agent's summary: both times on this process's clock):
  turn detected -> first audio handed to the call, minus the provider latencies: the
  agent's scheduling, channels, sentence cutting, TTS hand-off; and split by stage (STT
  final, LLM first token, TTS first byte, audio queued), each beyond its provider's latency.

Checks that a result is the agent's: the callers' lateness (their 1 ms ticker's wake-up
versus schedule, about 0.6 ms at p50 from epoll's millisecond timeouts alone; flagged when
its p99 is over 5 ms: then the callers, not the agent, were behind) and their CPU; for the
agent process, its CPU % over the callers' streaming window (``time.process_time`` sampled
every 10 ms, windowed on CLOCK_MONOTONIC, which every process shares), its CPU per inbound
20 ms frame, how long its main thread waited, runnable, for a CPU
(``/proc/thread-self/schedstat``; flagged over 5 %: other load on the machine, and the
latencies then say more about that load than about the agent), and its event loop's
lateness (how late a 10 ms timer woke). A run without the agent (the handler only reads the
call's events) gives the server + WebSocket + call cost per frame in the same run, and the
agent's own cost as the difference.

``python -m bench agent``: 1 call x 100 turns, 100 calls x 5 turns, and the 100 calls
without the agent. ``python -m bench.bench_agent --calls 100 --turns 3 [--processes 2]
[--caller fake] [--no-pin] [--baseline]``: ``--caller fake`` runs FakePlivo.run_url
callers (several times the light caller's CPU: a cross-check at low call counts). With two
CPUs or more, this process is pinned to the first and the callers to the others (as
``bench.loadgen`` pins its servers), unless ``--no-pin``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
import trio

from bench.agent_callers import PERIOD_S, CallerJob, CallerReport, parse_report, script_frames
from trio_plivo import serve
from trio_plivo.agent import AgentConfig, LLMEvent, Message, Summary, run_agent
from trio_plivo.call import Call
from trio_plivo.testing._loadtest import split
from trio_plivo.workers import tune_gc_for_serving

STT_S, LLM_S, TTS_S = 0.100, 0.150, 0.050
END_OF_TURN_MS = 300.0
LATE_LIMIT_MS = 5.0
WAITED_LIMIT_PCT = 5.0
ROOT = Path(__file__).resolve().parent.parent


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
        yield TONE


#: The fake TTS's answer, made once: its CPU would count as the agent's.
TONE = (np.sin(np.arange(3200) * 2 * np.pi * 440 / 16000) * 4000).astype("<i2").tobytes()


# ------------------------------------------------------------------------- this process


class _Sampler:
    """Every 10 ms: CLOCK_MONOTONIC, this process's CPU time, how long its main thread
    waited for a CPU while runnable (``/proc/self/schedstat``: other processes' load), and
    how late the timer woke."""

    def __init__(self) -> None:
        self.at: list[float] = []
        self.cpu: list[float] = []
        self.waited: list[float] = []
        self.lag: list[tuple[float, float]] = []

    async def run(self) -> None:
        due = trio.current_time()
        while True:
            due += 0.010
            await trio.sleep_until(due)
            lag = trio.current_time() - due
            now = time.monotonic()
            self.at.append(now)
            self.cpu.append(time.process_time())
            self.waited.append(_run_delay())
            self.lag.append((now, lag))
            due = max(due, trio.current_time())

    def cpu_between(self, start: float, end: float) -> float:
        """CPU seconds this process used between two CLOCK_MONOTONIC times."""
        return self._between(self.cpu, start, end)

    def waited_between(self, start: float, end: float) -> float:
        """Seconds the main thread waited, runnable, for a CPU between two times."""
        return self._between(self.waited, start, end)

    def _between(self, values: list[float], start: float, end: float) -> float:
        at, v = np.array(self.at), np.array(values)
        return float(np.interp(end, at, v) - np.interp(start, at, v))

    def lags_between(self, start: float, end: float) -> list[float]:
        return [lag for at, lag in self.lag if start <= at <= end]


def _run_delay() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (NaN if unknown)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return math.nan


async def _read_line(stream: trio.abc.ReceiveStream, buffer: bytearray) -> str:
    while b"\n" not in buffer:
        data = await stream.receive_some()
        if not data:
            raise RuntimeError("a caller process exited early (see its stderr)")
        buffer += data
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


async def _run_callers(jobs: Sequence[CallerJob]) -> list[CallerReport]:
    """Start one caller process per job, start their scripts together, collect reports."""
    procs = []
    for job in jobs:
        command = [sys.executable, "-m", "bench.agent_callers", json.dumps(asdict(job))]
        procs.append(
            await trio.lowlevel.open_process(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
            )
        )
    buffers = [bytearray() for _ in procs]
    reports: list[CallerReport | None] = [None] * len(procs)
    try:
        for proc, buffer in zip(procs, buffers, strict=True):
            assert proc.stdout is not None
            line = await _read_line(proc.stdout, buffer)
            if line != "ready":
                raise RuntimeError(f"caller process said {line!r}")
        start = time.monotonic() + 0.3
        for proc in procs:
            assert proc.stdin is not None
            await proc.stdin.send_all(f"{start!r}\n".encode())

        async def collect(i: int) -> None:
            stdout = procs[i].stdout
            assert stdout is not None
            reports[i] = parse_report(await _read_line(stdout, buffers[i]))
            await procs[i].wait()

        async with trio.open_nursery() as nursery:
            for i in range(len(procs)):
                nursery.start_soon(collect, i)
    finally:
        with trio.CancelScope(shield=True):
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                for stream in (proc.stdin, proc.stdout):
                    if stream is not None:
                        await stream.aclose()
                await proc.wait()
    return [r for r in reports if r is not None]


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) * 1000.0 if values else math.nan


def _answers(report: CallerReport) -> list[float]:
    """Per turn: scripted end of speech -> first playAudio (same process, same clock)."""
    out = []
    for ends, plays in zip(report.ends, report.plays, strict=True):
        for end in ends:
            first = next((t for t in plays if t > end), None)
            if first is not None and first < end + PERIOD_S:
                out.append(first - end)
    return out


async def measure(
    calls: int,
    turns: int,
    *,
    processes: int = 1,
    kind: str = "light",
    pin: bool = False,
    bare: bool = False,
) -> dict[str, float]:
    """One run; ``bare``: the handler only reads the call's events (no agent), the baseline
    for the server, the WebSocket and the call under the agent."""
    summaries: list[Summary] = []
    config = AgentConfig(
        stt=Stt(), llm=Llm(), tts=Tts(), end_of_turn_ms=END_OF_TURN_MS, min_barge_in_ms=300
    )

    ended = 0
    all_ended = trio.Event()

    async def handler(call: Call) -> None:
        nonlocal ended
        try:
            if bare:
                async for _ in call:
                    pass
            else:
                summaries.append(await run_agent(call, config))
        finally:
            ended += 1
            if ended == calls:
                all_ended.set()

    allowed = os.sched_getaffinity(0)
    first_cpu, *other_cpus = sorted(allowed)
    pin = pin and bool(other_cpus)
    sampler = _Sampler()
    try:
        if pin:
            os.sched_setaffinity(0, {first_cpu})
        async with trio.open_nursery() as nursery:
            server = await nursery.start(partial(serve, handler, "127.0.0.1", 0, handler_grace=0.5))
            nursery.start_soon(sampler.run)
            url = f"ws://127.0.0.1:{server.port}/stream"
            cpus = tuple(other_cpus) if pin else ()
            jobs = [
                CallerJob(url, count, turns, first, calls, kind, cpus=cpus)
                for first, count in split(calls, max(1, min(processes, calls)))
            ]
            reports = await _run_callers(jobs)
            with trio.move_on_after(5):
                await all_ended.wait()
            nursery.cancel_scope.cancel()
    finally:
        os.sched_setaffinity(0, allowed)

    totals = [t for report in reports for t in _answers(report)]
    providers = END_OF_TURN_MS / 1000 + STT_S + LLM_S + TTS_S
    added = [t - providers for t in totals]
    turns_done = [
        turn
        for summary in summaries
        for turn in summary.turns
        if turn.first_audio is not None
        and None not in (turn.stt_final, turn.llm_first_token, turn.tts_first_byte)
    ]
    pipeline = [(t.first_audio - t.turn_end) - (STT_S + LLM_S + TTS_S) for t in turns_done]  # type: ignore[operator]
    # Where the pipeline's time goes, beyond each provider's own latency.
    stages = {
        "stt": [t.stt_final - t.turn_end - STT_S for t in turns_done],  # type: ignore[operator]
        "llm": [t.llm_first_token - t.stt_final - LLM_S for t in turns_done],  # type: ignore[operator]
        "tts": [t.tts_first_byte - t.llm_first_token - TTS_S for t in turns_done],  # type: ignore[operator]
        "play": [t.first_audio - t.tts_first_byte for t in turns_done],  # type: ignore[operator]
    }
    started = min(r.started for r in reports)
    finished = max(r.finished for r in reports)
    window = finished - started
    agent_cpu = sampler.cpu_between(started, finished)
    frames = sum(r.frames_sent for r in reports)
    lateness = [x for r in reports for x in r.lateness]
    errors = sum(sum(r.errors.values()) for r in reports)
    return {
        "turns": len(totals),
        "expected": calls * turns,
        "added_p50": pct(added, 50),
        "added_p99": pct(added, 99),
        "added_max": pct(added, 100),
        "pipeline_p50": pct(pipeline, 50),
        "pipeline_p99": pct(pipeline, 99),
        **{f"{name}_p50": pct(values, 50) for name, values in stages.items()},
        **{f"{name}_p99": pct(values, 99) for name, values in stages.items()},
        "agent_cpu_pct": 100.0 * agent_cpu / window,
        "agent_us_per_frame": 1e6 * agent_cpu / frames if frames else math.nan,
        "agent_lag_p99": pct(sampler.lags_between(started, finished), 99),
        "agent_waited_pct": 100.0 * sampler.waited_between(started, finished) / window,
        "caller_late_p50": pct(lateness, 50),
        "caller_late_p99": pct(lateness, 99),
        "caller_late_max": pct(lateness, 100),
        "caller_cpu_pct": 100.0 * sum(r.cpu_s for r in reports) / max(r.wall_s for r in reports),
        "caller_processes": len(reports),
        "clears": sum(r.clears for r in reports),
        "errors": errors,
        "frames_expected": calls * script_frames(turns, calls),
        "frames": frames,
    }


def show(label: str, r: dict[str, float], *, bare: bool = False) -> None:
    if not bare:
        print(
            f"{label:22} turns {int(r['turns'])}/{int(r['expected'])} | added p50 "
            f"{r['added_p50']:5.1f} p99 {r['added_p99']:5.1f} max {r['added_max']:5.1f} ms | "
            f"pipeline p50 {r['pipeline_p50']:4.1f} p99 {r['pipeline_p99']:5.1f} ms",
            flush=True,
        )
        print(
            f"{'':22} pipeline beyond the providers, p50/p99 ms: "
            + ", ".join(
                f"{name} {r[name + '_p50']:.1f}/{r[name + '_p99']:.1f}"
                for name in ("stt", "llm", "tts", "play")
            ),
            flush=True,
        )
        label = ""
    print(
        f"{label:22} agent process CPU {r['agent_cpu_pct']:3.0f} % "
        f"({r['agent_us_per_frame']:4.0f} µs per inbound frame), waited for a CPU "
        f"{r['agent_waited_pct']:3.0f} %, loop lateness p99 {r['agent_lag_p99']:4.1f} ms",
        flush=True,
    )
    print(
        f"{'':22} callers ({int(r['caller_processes'])} proc.) late p50 "
        f"{r['caller_late_p50']:4.2f} p99 {r['caller_late_p99']:4.1f} max "
        f"{r['caller_late_max']:5.1f} ms, CPU {r['caller_cpu_pct']:3.0f} %",
        flush=True,
    )
    problems = []
    if r["caller_late_p99"] > LATE_LIMIT_MS:
        problems.append(
            f"callers late (p99 {r['caller_late_p99']:.1f} ms > {LATE_LIMIT_MS:.0f} ms): the "
            "latencies are not the agent's alone"
        )
    if r["frames"] < r["frames_expected"] or r["errors"]:
        problems.append(
            f"{int(r['frames'])}/{int(r['frames_expected'])} frames sent, "
            f"{int(r['errors'])} caller error(s)"
        )
    if not bare and r["turns"] < r["expected"]:
        problems.append(f"{int(r['expected'] - r['turns'])} turn(s) without an answer")
    if r["clears"]:
        problems.append(f"{int(r['clears'])} unexpected clearAudio (barge-in)")
    if r["agent_waited_pct"] > WAITED_LIMIT_PCT:
        problems.append(
            f"the agent process waited {r['agent_waited_pct']:.0f} % of the time for a CPU "
            "(other load on the machine)"
        )
    for problem in problems:
        print(f"{'':22} WARNING: {problem}", flush=True)


def run(calls: int, turns: int, **options: object) -> dict[str, float]:
    # This process serves the agents as `trio-plivo serve` would, so its collector is tuned
    # the same way (the callers run in other processes).
    tune_gc_for_serving()
    return trio.run(partial(measure, calls, turns, **options))  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--turns", type=int, default=None)
    parser.add_argument(
        "--processes", type=int, default=None, help="caller processes (default: 1 per 50 calls)"
    )
    parser.add_argument("--caller", choices=("light", "fake"), default="light")
    parser.add_argument(
        "--no-pin", action="store_true", help="leave CPU placement to the OS scheduler"
    )
    parser.add_argument(
        "--baseline", action="store_true", help="also run the calls without the agent"
    )
    args = parser.parse_args(argv if argv is not None else [])
    print(
        f"providers: STT {STT_S * 1000:.0f} ms, LLM first token {LLM_S * 1000:.0f} ms, TTS first "
        f"byte {TTS_S * 1000:.0f} ms; end of turn {END_OF_TURN_MS:.0f} ms; real clock; agents "
        f"in this process, {args.caller} callers in others over loopback WebSockets"
    )
    cpus = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(cpus) > 1:
        print(f"agent process pinned to CPU {cpus[0]}, callers to CPU(s) {cpus[1:]}")
    baseline = args.baseline
    if args.calls is not None or args.turns is not None:
        configs = [(args.calls or 1, args.turns or 10)]
    else:
        configs = [(1, 100), (100, 5)]
        baseline = True
    for calls, turns in configs:
        processes = args.processes or math.ceil(calls / 50)
        options = {"processes": processes, "kind": args.caller, "pin": not args.no_pin}
        result = run(calls, turns, **options)
        show(f"{calls} call(s) x {turns} turns", result)
    if baseline:
        bare = run(calls, turns, bare=True, **options)
        show(f"{calls} call(s), no agent", bare, bare=True)
        print(
            f"{'':22} the agent's own CPU: {result['agent_us_per_frame'] - bare['agent_us_per_frame']:.0f}"
            f" µs per inbound frame ({result['agent_us_per_frame'] / bare['agent_us_per_frame']:.2f}x"
            " the call without it)",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
