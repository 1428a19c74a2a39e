"""Real-time load generator: N simulated Plivo callers against a stream server.

Every call opens a WebSocket (:func:`trio_plivo.ws.connect_websocket`), sends a Plivo
``start`` and then one µ-law 8 kHz 20 ms ``media`` frame every 20 ms (protocols.md §1.2).
The first 6 payload bytes carry a per-call frame counter and call tag, so an echoed
``media`` or ``playAudio`` is matched to the frame it answers. Halfway through, each call
presses DTMF ``5`` (the echo app answers with a checkpoint); the callers act as Plivo and
acknowledge a ``checkpoint`` with ``playedStream`` once the audio received before it has
played on the call's own playout clock.

Frames are sent by one ticker per worker (one timer wake-up per millisecond, calls spread
over 20 phase slots), never one task per frame: the generator must stay much cheaper than
the server it measures. Calls are split over worker processes, each with its own
``trio.run``; their :class:`WorkerReport` are merged. The ticker's own lateness is recorded:
when its p99 exceeds 50 ms the generator, not the server, was the bottleneck.
"""

from __future__ import annotations

import base64
import math
import multiprocessing
import os
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from ctypes import c_int64
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import numpy as np
import orjson
import trio

from .._exceptions import ConnectionClosed
from ..ws import WebSocket, connect_websocket
from ._loadtest_report import (
    FRAME_SECONDS,
    LoadtestResult,
    WorkerReport,
    audible_gaps,
    merge_reports,
)

__all__ = [
    "LoadtestJob",
    "Progress",
    "dtmf_message",
    "frame_payload",
    "media_message",
    "played_stream_message",
    "read_payload_header",
    "run_loadtest",
    "run_loadtest_async",
    "run_worker",
    "split",
    "start_message",
]

FRAME_BYTES = 160  # 20 ms of µ-law at 8 kHz
HEADER = struct.Struct("!IH")  # frame counter, call tag: 6 bytes = exactly 8 base64 chars
# µ-law silence after the header; base64 of an aligned prefix + tail = base64 of the whole.
PAYLOAD_TAIL = base64.b64encode(b"\xff" * (FRAME_BYTES - HEADER.size)).decode()
PAYLOAD_KEY = '"payload":"'
SLOTS = 20  # 1 ms phase slots per 20 ms frame period


# ------------------------------------------------------------------------- wire messages


def frame_payload(counter: int, tag: int) -> str:
    """Base64 payload of frame ``counter`` of call ``tag`` (header + µ-law silence)."""
    return base64.b64encode(HEADER.pack(counter, tag & 0xFFFF)).decode() + PAYLOAD_TAIL


def read_payload_header(message: str | bytes) -> tuple[int, int] | None:
    """(counter, tag) from a ``media`` echo or a ``playAudio`` reply; ``None`` for others."""
    text = message if isinstance(message, str) else message.decode()
    at = text.find(PAYLOAD_KEY)
    if at < 0:
        return None
    at += len(PAYLOAD_KEY)
    try:
        counter, tag = HEADER.unpack(base64.b64decode(text[at : at + 8]))
    except (ValueError, struct.error):
        return None
    return counter, tag


def start_message(call_id: str, stream_id: str) -> str:
    """Plivo's ``start`` (protocols.md §1.2.1), µ-law 8 kHz inbound."""
    start = {
        "callId": call_id,
        "streamId": stream_id,
        "accountId": "MAXXXXXXXXXXXXXXXXXX",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
    }
    message = {"event": "start", "sequenceNumber": 1, "start": start, "extra_headers": ""}
    return orjson.dumps(message).decode()


def media_message(
    stream_id: str, counter: int, tag: int, timestamp_ms: int, sequence: int | None = None
) -> str:
    """A Plivo ``media`` frame (protocols.md §1.2.2). Built with an f-string, not a JSON
    encoder: the generator has to stay cheaper per frame than the server it measures."""
    seq = counter + 2 if sequence is None else sequence
    return (
        f'{{"event":"media","sequenceNumber":{seq},"streamId":"{stream_id}",'
        f'"media":{{"track":"inbound","timestamp":"{timestamp_ms}","chunk":{counter + 1},'
        f'"payload":"{frame_payload(counter, tag)}"}},"extra_headers":""}}'
    )


def dtmf_message(stream_id: str, digit: str, timestamp_ms: int, sequence: int) -> str:
    """A Plivo ``dtmf`` event (protocols.md §1.2.3)."""
    return orjson.dumps(
        {
            "event": "dtmf",
            "sequenceNumber": sequence,
            "streamId": stream_id,
            "dtmf": {"track": "inbound", "digit": digit, "timestamp": str(timestamp_ms)},
            "extra_headers": "",
        }
    ).decode()


def played_stream_message(stream_id: str, name: str, sequence: int) -> str:
    """Plivo's ``playedStream`` acknowledging checkpoint ``name`` (protocols.md §1.2.4)."""
    return orjson.dumps(
        {"event": "playedStream", "sequenceNumber": sequence, "streamId": stream_id, "name": name}
    ).decode()


def _audio_seconds(text: str, at: int) -> float:
    """Play time of the µ-law payload starting at ``at`` (8000 bytes per second)."""
    end = text.find('"', at)
    length = (end - at) * 3 // 4 - text.count("=", end - 2, end)
    return length / 8000


# ------------------------------------------------------------------------- progress


class Progress:
    """Live counters shared with worker processes: per worker, calls connected, frames sent
    and received, and a 1 ms histogram of echo latency (last bucket: 1 s or more)."""

    BUCKETS = 1001
    STRIDE = 3 + BUCKETS

    def __init__(self, workers: int) -> None:
        self.workers = workers
        context = multiprocessing.get_context(_start_method())
        self.array: Any = context.RawArray(c_int64, workers * self.STRIDE)

    def publish(self, worker: int, report: WorkerReport, new_rtts: Sequence[float]) -> None:
        """Called by worker ``worker`` with its counters and the latencies since last time."""
        base = worker * self.STRIDE
        a = self.array
        a[base] = report.connected
        a[base + 1] = report.live_sent
        a[base + 2] = report.live_received
        if new_rtts:
            buckets = np.minimum((np.asarray(new_rtts) * 1e3).astype(np.int64), self.BUCKETS - 1)
            for bucket, n in zip(*np.unique(buckets, return_counts=True), strict=True):
                a[base + 3 + int(bucket)] += int(n)

    def totals(self) -> tuple[int, int, int, float]:
        """(connected, sent, received, echo latency p99 in ms so far; NaN before any)."""
        a = np.frombuffer(self.array, dtype=np.int64).reshape(self.workers, self.STRIDE)
        counts = a[:, :3].sum(axis=0)
        hist = a[:, 3:].sum(axis=0)
        total = int(hist.sum())
        p99 = math.nan
        if total:
            p99 = float(np.searchsorted(np.cumsum(hist), math.ceil(0.99 * total)) + 1)
        return int(counts[0]), int(counts[1]), int(counts[2]), p99


def _progress_line(progress: Progress, calls: int, elapsed: float) -> str:
    connected, sent, received, p99 = progress.totals()
    if math.isnan(p99):
        p99_text = "-"
    elif p99 >= Progress.BUCKETS:
        p99_text = f">= {Progress.BUCKETS - 1} ms"
    else:
        p99_text = f"<= {p99:.0f} ms"
    return (
        f"[{elapsed:4.0f}s] calls connected {connected}/{calls}  frames sent {sent} "
        f"received {received}  echo p99 so far {p99_text}"
    )


class _Display:
    """One updating progress line on ``stream`` per second, from a thread of the parent."""

    def __init__(self, progress: Progress, calls: int, stream: IO[str]) -> None:
        self._progress = progress
        self._calls = calls
        self._stream = stream
        self._stop = threading.Event()
        self._tty = stream.isatty()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> _Display:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._show()
        if self._tty:
            self._stream.write("\n")
        self._stream.flush()

    def _show(self) -> None:
        line = _progress_line(self._progress, self._calls, time.monotonic() - self._started)
        self._stream.write(f"\r{line}\x1b[K" if self._tty else f"{line}\n")
        self._stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._show()


# ------------------------------------------------------------------------- the worker


@dataclass(frozen=True)
class LoadtestJob:
    """What one worker does: ``calls`` callers tagged from ``first_tag``."""

    url: str
    calls: int
    first_tag: int = 0
    duration: float = 5.0  # measured seconds, after ramp + settle
    ramp: float = 1.0  # connections spread over this many seconds
    settle: float = 1.0  # unmeasured seconds after the ramp
    grace: float = 1.0  # how long to wait for late replies after the last frame
    dtmf: str | None = "5"  # pressed once per call at mid-call; None: never
    worker: int = 0  # index into the shared Progress
    cpus: frozenset[int] | None = None


@dataclass(eq=False)
class _Call:
    """One simulated call; its frames are sent by the worker's ticker in its phase slot."""

    ws: WebSocket
    tag: int
    stream_id: str
    frames: int  # how many media frames this call sends
    send_times: list[float]
    counted: list[bool]
    dtmf_at: int  # frame index before which the DTMF goes out (-1: none)
    sent: int = 0
    received: int = 0
    sequence: int = 1  # last sequenceNumber used
    done: bool = False  # hung up: the ticker skips it
    receive_times: list[float] = field(default_factory=list)
    playout_end: float = 0.0  # when the audio received so far has finished playing

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


async def _ticker(
    slots: list[list[_Call]],
    start: float,
    full_load_at: float,
    end_at: float,
    report: WorkerReport,
    dtmf: str | None,
) -> None:
    """Send every call's frames on time. One timer wake-up per millisecond, not one per frame.

    A wake-up handles every tick that is due by then: when a busy run loop takes longer than
    a tick to come back, the ticker catches up at once instead of staying behind by a
    constant lag (one tick per loop pass would never gain on a loop that is slower than that).
    """
    slot_s = FRAME_SECONDS / SLOTS
    tick = 0
    while True:
        due = start + tick * slot_s
        if due >= end_at:
            return
        await trio.sleep_until(due)
        now = trio.current_time()
        while due <= now and due < end_at:
            await _send_tick(slots[tick % SLOTS], due, full_load_at, report, dtmf)
            tick += 1
            due = start + tick * slot_s


async def _send_tick(
    calls: list[_Call], due: float, full_load_at: float, report: WorkerReport, dtmf: str | None
) -> None:
    for call in calls:
        if call.done or call.sent >= call.frames:
            continue
        now = trio.current_time()
        i = call.sent
        if due >= full_load_at:
            report.lateness.append(now - due)
            call.counted[i] = True
        call.send_times[i] = now
        call.sent += 1
        report.live_sent += 1
        try:
            if i == call.dtmf_at and dtmf is not None:
                await call.ws.send_message(
                    dtmf_message(call.stream_id, dtmf, int(now * 1e3), call.next_sequence())
                )
            await call.ws.send_message(
                media_message(call.stream_id, i, call.tag, int(now * 1e3), call.next_sequence())
            )
        except ConnectionClosed:
            call.done = True


async def _acknowledge(call: _Call, name: str, received_at: float, report: WorkerReport) -> None:
    """Answer a checkpoint as Plivo does: once the audio received before it has played."""
    await trio.sleep_until(max(call.playout_end, received_at))
    if call.done:
        return
    try:
        await call.ws.send_message(
            played_stream_message(call.stream_id, name, call.next_sequence())
        )
    except ConnectionClosed:
        return
    report.checkpoints.append(trio.current_time() - received_at)


async def _receive(
    call: _Call, start_sent: float, report: WorkerReport, nursery: trio.Nursery
) -> None:
    first_audio = True
    ws = call.ws
    tag = call.tag & 0xFFFF
    while call.received < call.frames:
        message = await ws.receive_message()
        now = trio.current_time()
        text = message if isinstance(message, str) else message.decode()
        at = text.find(PAYLOAD_KEY)
        if at >= 0:
            at += len(PAYLOAD_KEY)
            call.receive_times.append(now)
            call.playout_end = max(call.playout_end, now) + _audio_seconds(text, at)
            if first_audio:
                first_audio = False
                report.first_audio.append(now - start_sent)
            header = read_payload_header(text)
            if header is None:
                continue  # audio that is not an echo of ours (the app's own prompts)
            counter, got_tag = header
            if got_tag != tag or counter >= call.frames:
                report.errors["mismatched"] += 1
                continue
            if call.counted[counter]:
                report.rtts.append(now - call.send_times[counter])
            call.received += 1
            report.live_received += 1
        elif '"checkpoint"' in text:
            try:
                name = orjson.loads(text)["name"]
            except (ValueError, KeyError, TypeError):
                report.errors["bad_checkpoint"] += 1
                continue
            nursery.start_soon(_acknowledge, call, str(name), now, report)


async def _one_call(
    job: LoadtestJob,
    tag: int,
    connect_at: float,
    window: tuple[float, float],
    slots: list[list[_Call]],
    report: WorkerReport,
) -> None:
    full_load_at, end_at = window
    await trio.sleep_until(connect_at)
    try:
        ws = await connect_websocket(job.url, connect_timeout=10)
    except Exception:  # counted and reported, never hidden
        report.errors["connect"] += 1
        return
    report.connected += 1
    report.connects.append(trio.current_time() - connect_at)
    # A handshake that ends inside the measured window means the call was not there for
    # all of it: its missing frames would silently shrink the load, so it is a failure.
    ok = trio.current_time() <= full_load_at
    if not ok:
        report.errors["connected_late"] += 1
    stream_id = str(uuid.uuid4())
    # Frames from the first slot occurrence after now until end_at.
    frames = max(0, int((end_at - trio.current_time()) / FRAME_SECONDS) - 1)
    dtmf_at = frames // 2 if job.dtmf is not None and frames else -1
    call = _Call(ws, tag, stream_id, frames, [0.0] * frames, [False] * frames, dtmf_at)
    try:
        start_sent = trio.current_time()
        await ws.send_message(start_message(str(uuid.uuid4()), stream_id))
        slots[tag % SLOTS].append(call)
        async with trio.open_nursery() as nursery:
            with trio.move_on_at(end_at + job.grace):
                await _receive(call, start_sent, report, nursery)
            # A checkpoint still waiting for its audio to play gets until then.
            with trio.move_on_at(end_at + job.grace):
                await trio.sleep_until(max(call.playout_end, trio.current_time()))
            nursery.cancel_scope.cancel()
    except* ConnectionClosed:
        # (except*: the receive loop raises it from inside the call's nursery.)
        # The server hung up: every frame of the call not echoed counts as lost, also the
        # ones the ticker could no longer send.
        ok = False
        report.errors["closed_by_server"] += 1
        call.sent = call.frames
    finally:
        call.done = True
        report.calls_ok += ok
        report.sent += call.sent
        report.received += call.received
        report.gaps += audible_gaps(call.receive_times)
        with trio.move_on_after(2) as scope:
            scope.shield = True
            await ws.aclose()


async def _publisher(job: LoadtestJob, report: WorkerReport, progress: Progress) -> None:
    published = 0
    while True:
        new = report.rtts[published:]
        published += len(new)
        progress.publish(job.worker, report, new)
        await trio.sleep(0.25)


async def run_worker(job: LoadtestJob, progress: Progress | None = None) -> WorkerReport:
    """Run one worker's callers in the current Trio run and return its raw measurements."""
    report = WorkerReport(calls=job.calls)
    base = trio.current_time() + 0.2
    # Statistics start once every call is connected and the handshake burst has settled.
    full_load_at = base + job.ramp + job.settle
    end_at = full_load_at + job.duration
    slots: list[list[_Call]] = [[] for _ in range(SLOTS)]
    async with trio.open_nursery() as outer:
        if progress is not None:
            outer.start_soon(_publisher, job, report, progress)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_ticker, slots, base, full_load_at, end_at, report, job.dtmf)
            for i in range(job.calls):
                connect_at = base + job.ramp * i / max(1, job.calls)
                nursery.start_soon(
                    _one_call,
                    job,
                    job.first_tag + i,
                    connect_at,
                    (full_load_at, end_at),
                    slots,
                    report,
                )
        if progress is not None:
            progress.publish(job.worker, report, report.rtts[len(report.rtts) :])
        outer.cancel_scope.cancel()
    return report


# ------------------------------------------------------------------------- processes


def split(total: int, parts: int) -> Iterator[tuple[int, int]]:
    """(offset, count) for ``parts`` near-equal shares of ``total``."""
    offset = 0
    for p in range(parts):
        count = total // parts + (1 if p < total % parts else 0)
        yield offset, count
        offset += count


def _start_method() -> str:
    return "fork" if sys.platform == "linux" else "spawn"


_T = TypeVar("_T")
_J = TypeVar("_J")
_shared_progress: Progress | None = None


def _init_worker(progress: Progress | None) -> None:
    global _shared_progress
    _shared_progress = progress


def pool_map(
    function: Callable[[_J], _T], jobs: Sequence[_J], progress: Progress | None = None
) -> list[_T]:
    """``function`` over ``jobs``, one process each (in this process for a single job)."""
    if len(jobs) == 1:
        _init_worker(progress)
        return [function(jobs[0])]
    context = multiprocessing.get_context(_start_method())
    with context.Pool(len(jobs), initializer=_init_worker, initargs=(progress,)) as pool:
        return pool.map(function, jobs)


def _run_job(job: LoadtestJob) -> WorkerReport:
    if job.cpus:
        os.sched_setaffinity(0, job.cpus)
    return trio.run(run_worker, job, _shared_progress)


def _jobs(
    url: str,
    calls: int,
    processes: int,
    **options: Any,
) -> list[LoadtestJob]:
    parts = [(offset, count) for offset, count in split(calls, processes) if count]
    return [
        LoadtestJob(url, count, offset, worker=worker, **options)
        for worker, (offset, count) in enumerate(parts)
    ]


def run_loadtest(
    url: str,
    calls: int,
    *,
    duration: float = 5.0,
    ramp: float = 1.0,
    settle: float = 1.0,
    grace: float = 1.0,
    processes: int = 1,
    dtmf: str | None = "5",
    cpus: set[int] | None = None,
    progress_stream: IO[str] | None = None,
) -> LoadtestResult:
    """``calls`` real-time callers over ``processes`` worker processes: connections spread
    over ``ramp`` s, then ``settle`` s unmeasured, then ``duration`` s measured (loss, gaps
    and checkpoints are counted throughout). With ``progress_stream``, one progress line per
    second is written to it."""
    jobs = _jobs(
        url,
        calls,
        max(1, processes),
        duration=duration,
        ramp=ramp,
        settle=settle,
        grace=grace,
        dtmf=dtmf,
        cpus=frozenset(cpus) if cpus else None,
    )
    if progress_stream is None:
        reports = pool_map(_run_job, jobs)
    else:
        progress = Progress(len(jobs))
        with _Display(progress, calls, progress_stream):
            reports = pool_map(_run_job, jobs, progress)
    return LoadtestResult(
        url, calls, duration, merge_reports(reports), processes=len(jobs), ramp=ramp
    )


async def run_loadtest_async(
    url: str,
    calls: int,
    *,
    duration: float = 5.0,
    ramp: float = 1.0,
    settle: float = 1.0,
    grace: float = 1.0,
    dtmf: str | None = "5",
) -> LoadtestResult:
    """:func:`run_loadtest` with one worker in the current Trio run (e.g. next to an
    in-process server in a test)."""
    job = LoadtestJob(url, calls, 0, duration, ramp, settle, grace, dtmf)
    report = await run_worker(job)
    return LoadtestResult(url, calls, duration, merge_reports([report]), ramp=ramp)
