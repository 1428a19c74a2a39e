"""Simulated callers for ``bench_agent``, run in a process of their own.

Each call speaks a scripted 0.4 s speech-like phrase per turn (then 0.9 s of silence) and
times the agent's answers: every ``playAudio`` arrival is recorded on this process's clock,
next to the scripted ends of speech on the same clock, so ``bench_agent`` only ever
subtracts times taken in one process.

Two kinds of caller:

* ``light`` (default): one ticker per process sends every call's L16 8 kHz 20 ms ``media``
  frame from precomputed payloads (one timer wake-up per millisecond, calls spread over 20
  phase slots, as :mod:`trio_plivo.testing._loadtest` does), and a small reader per call
  plays ``playAudio`` on a playout clock to answer checkpoints with ``playedStream`` when
  the audio before them has played. Tens of microseconds per frame.
* ``fake``: :meth:`FakePlivo.run_url` per call: the strict simulator, several times the
  CPU per frame; a cross-check of the light caller at low call counts.

Frame ``k`` (audio ``[20k, 20k + 20)`` ms of the call's script) is sent ``20k`` ms after the
call's origin, as FakePlivo paces it, so "scripted end of speech" means the same in both.
Call ``i`` of ``total`` starts its phrases ``i / total`` of a turn period after the others
(answers would otherwise all be due in the same millisecond), and every call streams from
the common start to the common end, so all of them are live during every measured turn.

The ticker's lateness (sent minus due, per frame; in ``fake`` mode the same ticker runs
with no calls and measures the process's timer lateness) is reported: when it is high, the
callers, not the agent, were behind and the turn latencies are not the agent's.

Protocol with the parent (``python -m bench.agent_callers JOB_JSON``): once every call is
connected (and has sent ``start``) the process prints ``ready``; it then reads one line, the
``time.monotonic()`` at which the scripts start (CLOCK_MONOTONIC is the same clock in every
process on Linux; ``trio.current_time()`` is not: each run has its own offset), and at the
end prints its report as one JSON line.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import orjson
import trio

from trio_plivo import L16_8K
from trio_plivo._exceptions import ConnectionClosed
from trio_plivo.testing import CallerAudio, FakePlivo
from trio_plivo.ws import WebSocket, connect_websocket

RATE = 8000
FRAME_S = 0.020
SPEECH_S, SILENCE_S, LEAD_IN_S = 0.4, 0.9, 0.3
PERIOD_S = SPEECH_S + SILENCE_S
SPEECH_FRAMES = round(SPEECH_S / FRAME_S)
PERIOD_FRAMES = round(PERIOD_S / FRAME_S)
LEAD_IN_FRAMES = round(LEAD_IN_S / FRAME_S)
SLOTS = 20  # 1 ms phase slots per 20 ms frame
FRAME_BYTES = RATE * 2 // 50  # L16 8 kHz, 20 ms
PAYLOAD_KEY = '"payload":"'


def speech(seconds: float) -> bytes:
    """A voiced, syllable-modulated buzz: speech to webrtcvad."""
    t = np.arange(round(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * 3 * t)) / RATE
    signal = sum((1 / k) * np.sin(k * phase) for k in range(1, 26) if k * 140 < RATE / 2)
    signal = signal * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t - np.pi / 2))
    pcm: bytes = (signal / np.max(np.abs(signal)) * 8000).astype("<i2").tobytes()
    return pcm


# ------------------------------------------------------------------------- the script


def stagger_frames(index: int, total: int) -> int:
    """How many frames call ``index`` of ``total`` starts its phrases after call 0."""
    return round(index / total * PERIOD_FRAMES) if total > 1 else 0


def script_frames(turns: int, total: int) -> int:
    """Frames every call streams: lead-in, the largest stagger, the turns."""
    most = stagger_frames(total - 1, total)
    return LEAD_IN_FRAMES + most + turns * PERIOD_FRAMES


def speech_ends(index: int, total: int, turns: int) -> list[float]:
    """Scripted ends of speech of call ``index``, in seconds after its origin, on the clock
    the agent hears.

    A phone sends a frame once its 20 ms have been captured, so a frame arriving at ``t``
    holds the audio of ``[t - 20 ms, t)``. These callers (like FakePlivo) send frame ``k``,
    the script's ``[20k, 20k + 20)`` ms, at ``20k``: one frame early. On the agent's clock the
    speech therefore ends one frame before the script says; counting from the script's
    time would credit the agent with 20 ms it did not save.
    """
    first = LEAD_IN_FRAMES + stagger_frames(index, total)
    return [(first + k * PERIOD_FRAMES + SPEECH_FRAMES - 1) * FRAME_S for k in range(turns)]


def caller_audio(index: int, total: int, turns: int) -> CallerAudio:
    """Call ``index``'s script as FakePlivo audio."""
    first = LEAD_IN_FRAMES + stagger_frames(index, total)
    audio = CallerAudio.silence(first * FRAME_S)
    for _ in range(turns):
        audio += CallerAudio.from_pcm16(speech(SPEECH_S), RATE) + CallerAudio.silence(SILENCE_S)
    rest = script_frames(turns, total) - first - turns * PERIOD_FRAMES
    if rest:
        audio += CallerAudio.silence(rest * FRAME_S)
    return audio


def payloads(index: int, total: int, turns: int) -> list[str]:
    """Call ``index``'s script as the base64 payload of each frame."""
    pcm = speech(SPEECH_S)
    spoken = [
        base64.b64encode(pcm[k * FRAME_BYTES : (k + 1) * FRAME_BYTES]).decode()
        for k in range(SPEECH_FRAMES)
    ]
    quiet = base64.b64encode(bytes(FRAME_BYTES)).decode()
    frames = [quiet] * script_frames(turns, total)
    first = LEAD_IN_FRAMES + stagger_frames(index, total)
    for turn in range(turns):
        at = first + turn * PERIOD_FRAMES
        frames[at : at + SPEECH_FRAMES] = spoken
    return frames


# ------------------------------------------------------------------------- wire messages


def start_message(call_id: str, stream_id: str) -> str:
    start = {
        "callId": call_id,
        "streamId": stream_id,
        "accountId": "MABENCHAGENT00000001",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": L16_8K.content_type, "sampleRate": RATE},
    }
    return orjson.dumps({"event": "start", "sequenceNumber": 1, "start": start}).decode()


def media_message(stream_id: str, sequence: int, chunk: int, payload: str) -> str:
    """A Plivo ``media`` frame, built with an f-string: cheaper than a JSON encoder."""
    return (
        f'{{"event":"media","sequenceNumber":{sequence},"streamId":"{stream_id}",'
        f'"media":{{"track":"inbound","timestamp":"{1_700_000_000_000 + chunk * 20}",'
        f'"chunk":{chunk + 1},"payload":"{payload}"}},"extra_headers":""}}'
    )


def _body(event: str, stream_id: str, sequence: int, **fields: str) -> str:
    message = {"event": event, "sequenceNumber": sequence, "streamId": stream_id, **fields}
    return orjson.dumps(message).decode()


def _audio_seconds(text: str, at: int) -> float:
    """Play time of the L16 8 kHz payload starting at ``at``."""
    end = text.find('"', at)
    length = (end - at) * 3 // 4 - text.count("=", end - 2, end)
    return length / (RATE * 2)


# ------------------------------------------------------------------------- the job


@dataclass(frozen=True)
class CallerJob:
    """What one caller process does: calls ``first`` .. ``first + calls - 1`` of ``total``."""

    url: str
    calls: int
    turns: int
    first: int = 0
    total: int = 1
    kind: str = "light"  # or "fake"
    #: Seconds after the last frame to wait for late answers and checkpoints.
    grace: float = 0.5
    cpus: tuple[int, ...] = ()


@dataclass
class CallerReport:
    """One process's measurements; times are seconds on this process's clock."""

    calls: int = 0
    connected: int = 0
    #: Per call: scripted ends of speech and every ``playAudio`` arrival, since the origin.
    ends: list[list[float]] = field(default_factory=list)
    plays: list[list[float]] = field(default_factory=list)
    #: Frame send lateness (or timer lateness, in ``fake`` mode), seconds.
    lateness: list[float] = field(default_factory=list)
    frames_sent: int = 0
    checkpoints: int = 0
    clears: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    #: CLOCK_MONOTONIC of the scripts' common start and of the last frame (CPU and wall
    #: time above are counted from a little earlier: from reading the start).
    started: float = 0.0
    finished: float = 0.0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


@dataclass(eq=False)
class _Call:
    index: int
    ws: WebSocket
    stream_id: str
    frames: list[str]
    sequence: int = 1
    done: bool = False
    origin: float = 0.0
    plays: list[float] = field(default_factory=list)
    playout_end: float = 0.0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


async def _ticker(
    slots: list[list[_Call]], base: float, end_at: float, report: CallerReport
) -> None:
    """Send every call's frame ``k`` at ``origin + 20k`` ms; one wake-up per millisecond."""
    tick = 0
    while True:
        due = base + tick * (FRAME_S / SLOTS)
        if due >= end_at:
            return
        await trio.sleep_until(due)
        report.lateness.append(trio.current_time() - due)
        k = tick // SLOTS
        for call in slots[tick % SLOTS]:
            if call.done or k >= len(call.frames):
                continue
            message = media_message(call.stream_id, call.next_sequence(), k, call.frames[k])
            try:
                await call.ws.send_message(message)
            except ConnectionClosed:
                call.done = True
                report.error("closed_by_agent")
                continue
            report.frames_sent += 1
        tick += 1


async def _acknowledge(call: _Call, name: str, report: CallerReport) -> None:
    """``playedStream`` once the audio received before the checkpoint has played."""
    await trio.sleep_until(call.playout_end)
    if call.done:
        return
    try:
        await call.ws.send_message(
            _body("playedStream", call.stream_id, call.next_sequence(), name=name)
        )
    except ConnectionClosed:
        return
    report.checkpoints += 1


async def _read(call: _Call, report: CallerReport, nursery: trio.Nursery) -> None:
    ws = call.ws
    while True:
        try:
            message = await ws.receive_message()
        except ConnectionClosed:
            return
        now = trio.current_time()
        text = message if isinstance(message, str) else message.decode()
        if '"playAudio"' in text:
            call.plays.append(now)
            at = text.find(PAYLOAD_KEY)
            if at >= 0:
                seconds = _audio_seconds(text, at + len(PAYLOAD_KEY))
                call.playout_end = max(call.playout_end, now) + seconds
        elif '"checkpoint"' in text:
            try:
                name = str(orjson.loads(text)["name"])
            except (ValueError, KeyError, TypeError):
                report.error("bad_checkpoint")
                continue
            call.playout_end = max(call.playout_end, now)
            nursery.start_soon(_acknowledge, call, name, report)
        elif '"clearAudio"' in text:
            report.clears += 1
            call.playout_end = now
            try:
                await ws.send_message(_body("clearedAudio", call.stream_id, call.next_sequence()))
            except ConnectionClosed:
                return


async def _connect(job: CallerJob, index: int, calls: list[_Call], report: CallerReport) -> None:
    try:
        ws = await connect_websocket(job.url, connect_timeout=20)
    except Exception:  # counted and reported, never hidden
        report.error("connect")
        return
    stream_id = str(uuid.uuid4())
    await ws.send_message(start_message(str(uuid.uuid4()), stream_id))
    report.connected += 1
    calls.append(_Call(index, ws, stream_id, payloads(index, job.total, job.turns)))


async def _light(job: CallerJob, report: CallerReport, start_at: trio.Event) -> float:
    calls: list[_Call] = []
    async with trio.open_nursery() as nursery:
        for i in range(job.first, job.first + job.calls):
            nursery.start_soon(_connect, job, i, calls, report)
    calls.sort(key=lambda call: call.index)
    print("ready", flush=True)
    base = await _wait_start(report)
    start_at.set()
    slots: list[list[_Call]] = [[] for _ in range(SLOTS)]
    for call in calls:
        call.origin = base + (call.index % SLOTS) * FRAME_S / SLOTS
        slots[call.index % SLOTS].append(call)
    end_at = base + script_frames(job.turns, job.total) * FRAME_S
    async with trio.open_nursery() as nursery:
        for call in calls:
            nursery.start_soon(_read, call, report, nursery)
        await _ticker(slots, base, end_at, report)
        finished = time.monotonic()
        await trio.sleep_until(max([end_at + job.grace] + [c.playout_end for c in calls]))
        for call in calls:
            call.done = True
        nursery.cancel_scope.cancel()
    for call in calls:
        with trio.move_on_after(2) as scope:
            scope.shield = True
            await call.ws.aclose()
        report.ends.append(speech_ends(call.index, job.total, job.turns))
        report.plays.append([t - call.origin for t in call.plays])
    return finished


async def _fake_call(job: CallerJob, index: int, base: float, report: CallerReport) -> None:
    await trio.sleep_until(base + (index % SLOTS) * FRAME_S / SLOTS)
    fake = FakePlivo(format=L16_8K, audio=caller_audio(index, job.total, job.turns), phrase_gap=0.3)
    try:
        result = await fake.run_url(job.url)
    except Exception:
        report.error("connect")
        return
    report.connected += 1
    report.frames_sent += result.counts.media_sent
    report.checkpoints += result.counts.checkpoints_received
    report.clears += result.counts.clears_received
    report.ends.append(speech_ends(index, job.total, job.turns))
    report.plays.append([e.at for e in result.events_named("playAudio", "from_app")])


async def _fake(job: CallerJob, report: CallerReport, start_at: trio.Event) -> float:
    # FakePlivo connects when it runs: the agent sees each call from its start.
    print("ready", flush=True)
    base = await _wait_start(report)
    start_at.set()
    end_at = base + script_frames(job.turns, job.total) * FRAME_S
    async with trio.open_nursery() as nursery:
        no_calls: list[list[_Call]] = [[] for _ in range(SLOTS)]
        nursery.start_soon(_ticker, no_calls, base, end_at, report)
        for i in range(job.first, job.first + job.calls):
            nursery.start_soon(_fake_call, job, i, base, report)
    return time.monotonic()


async def _wait_start(report: CallerReport) -> float:
    """Read the common start (CLOCK_MONOTONIC) from stdin; return it on the Trio clock."""
    line = await trio.to_thread.run_sync(sys.stdin.readline)
    report.started = float(line)
    return trio.current_time() + (report.started - time.monotonic())


async def run_job(job: CallerJob) -> CallerReport:
    report = CallerReport(calls=job.calls)
    start_at = trio.Event()
    run = _fake if job.kind == "fake" else _light
    cpu0 = wall0 = 0.0

    async def mark_start() -> None:
        nonlocal cpu0, wall0
        await start_at.wait()
        cpu0, wall0 = time.process_time(), time.monotonic()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(mark_start)
        finished = await run(job, report, start_at)
    report.cpu_s = time.process_time() - cpu0
    report.wall_s = time.monotonic() - wall0
    report.finished = finished
    return report


def main(argv: list[str]) -> None:
    job = CallerJob(**json.loads(argv[0]))
    if job.cpus:
        os.sched_setaffinity(0, job.cpus)
    report = trio.run(run_job, job)
    print(json.dumps(asdict(report)), flush=True)


def parse_report(line: str) -> CallerReport:
    data: dict[str, Any] = json.loads(line)
    return CallerReport(**data)


if __name__ == "__main__":
    main(sys.argv[1:])
