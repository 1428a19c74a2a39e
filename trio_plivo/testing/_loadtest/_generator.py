"""Real-time load generator: N simulated provider callers against a stream server.

Every call opens a WebSocket (:func:`trio_plivo.ws.connect_websocket`), sends its provider's
opening messages and then one media message per frame period in the provider's default
format and packet size (:mod:`._loadtest_wire`: Plivo µ-law 8 kHz 20 ms by default, Exotel
100 ms, KooKoo 10 ms sample arrays, Vonage binary L16 16 kHz). The first 6 payload bytes
carry a per-call frame counter and call tag, so an echoed frame is matched to the frame it
answers. Halfway through, each call presses DTMF ``5`` (the echo app answers with a
checkpoint); the callers act as the provider and acknowledge a checkpoint (``playedStream``,
a ``mark`` echo, ``websocket:notify``) once the audio received before it has played on the
call's own playout clock. ``barge_in_at`` seconds into its audio each call barges in (``4``
then ``*``) and measures the clear and the stale audio after it (:mod:`._bargein`). KooKoo
has no DTMF events (key presses are tones in the audio) and no checkpoint on the wire, so its
calls press no key and measure no checkpoint round trip nor barge-in; they acknowledge the
app's packets as they play, as KooKoo does.

Frames are sent by one ticker per worker (one timer wake-up per millisecond, calls spread
over one phase slot per millisecond of the frame period), never one task per frame: the
generator must stay much cheaper than the server it measures. Calls are split over worker
processes, each with its own ``trio.run``; their :class:`WorkerReport` are merged. The
ticker's own lateness is recorded: when its p99 exceeds 50 ms the generator, not the
server, was the bottleneck.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import trio

from ..._exceptions import ConnectionClosed
from ...ws import WebSocket, connect_websocket
from ._bargein import BargeIn, barge_in_frame, key_press_frame
from ._progress import Progress
from ._report import (
    FRAME_SECONDS,
    WorkerReport,
    audible_gaps,
)
from ._wire import CallWire

__all__ = ["SLOTS", "LoadtestJob", "media_message", "run_worker"]

SLOTS = 20  # 1 ms phase slots per 20 ms frame period (a provider's frame_ms in general)


# ------------------------------------------------------------------------- wire messages


def media_message(
    stream_id: str, counter: int, tag: int, timestamp_ms: int, sequence: int | None = None
) -> str:
    """A Plivo ``media`` frame (protocols.md §1.2.2) carrying the payload header; numbered
    ``counter + 2`` (after ``start``) unless ``sequence`` is given."""
    wire = CallWire("plivo", stream_id=stream_id)
    message = wire.media(counter, tag, timestamp_ms, counter + 2 if sequence is None else sequence)
    assert isinstance(message, str)
    return message


# ------------------------------------------------------------------------- progress


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
    provider: str = "plivo"  # whose protocol the callers speak (_providers.SIMULATED)
    barge_in_at: float | None = 2.0  # seconds into each call's audio; None: no barge-in


@dataclass(eq=False)
class _Call:
    """One simulated call; its frames are sent by the worker's ticker in its phase slot."""

    ws: WebSocket
    tag: int
    wire: CallWire  # its provider's messages
    frames: int  # how many media frames this call sends
    send_times: list[float]
    counted: list[bool]
    dtmf_at: int  # frame index before which the DTMF goes out (-1: none)
    sent: int = 0
    received: int = 0
    done: bool = False  # hung up: the ticker skips it
    receive_times: list[float] = field(default_factory=list)
    playout_end: float = 0.0  # when the audio received so far has finished playing
    # Packets to acknowledge once played (KooKoo): (play end, packet id), in play order.
    unacked: deque[tuple[float, str]] = field(default_factory=deque)
    # Set (and replaced) when the app clears: acknowledgements waiting for play-out stop.
    cleared: trio.Event = field(default_factory=trio.Event)
    pending_marks: set[str] = field(default_factory=set)  # received, not yet acknowledged
    barge: BargeIn | None = None  # the scripted barge-in (None: none in this call)

    @property
    def stream_id(self) -> str:
        return self.wire.stream_id


async def _ticker(
    slots: list[list[_Call]],
    start: float,
    full_load_at: float,
    end_at: float,
    report: WorkerReport,
    dtmf: str | None,
    frame_s: float = FRAME_SECONDS,
) -> None:
    """Send every call's frames on time. One timer wake-up per slot (``frame_s`` spread over
    ``len(slots)``: 1 ms each), not one per frame.

    A wake-up handles every tick that is due by then: when a busy run loop takes longer than
    a tick to come back, the ticker catches up at once instead of staying behind by a
    constant lag (one tick per loop pass would never gain on a loop that is slower than that).
    """
    nslots = len(slots)
    slot_s = frame_s / nslots
    tick = 0
    while True:
        due = start + tick * slot_s
        if due >= end_at:
            return
        await trio.sleep_until(due)
        now = trio.current_time()
        while due <= now and due < end_at:
            await _send_tick(slots[tick % nslots], due, full_load_at, report, dtmf)
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
        wire = call.wire
        ms = i * wire.frame_ms  # the frame's place in the caller's audio
        try:
            barge = call.barge
            if barge is not None and i == barge.frame:
                barge.press(now, call.playout_end, call.pending_marks)
                for press in barge.keys(wire, ms):
                    await call.ws.send_message(press)
            if i == call.dtmf_at and dtmf is not None:
                if barge is not None and barge.pressed_at is not None:
                    barge.window_open = False  # marks from now on are not the barge-in's
                key = wire.dtmf(dtmf, ms)
                if key is not None:
                    await call.ws.send_message(key)
            await call.ws.send_message(wire.media(i, call.tag, ms))
        except ConnectionClosed:
            call.done = True


async def _acknowledge(
    call: _Call,
    name: str,
    received_at: float,
    report: WorkerReport,
    cleared: trio.Event | None = None,
    due: float | None = None,
) -> None:
    """Answer a checkpoint as the provider does: once the audio received before it has
    played (at ``due``); after a clear at once (Twilio, SignalWire) or never (the others).
    ``cleared`` and ``due`` are the call's as the checkpoint was read (by default, now): a
    clear read before this task starts must still count."""
    cleared = call.cleared if cleared is None else cleared
    due = call.playout_end if due is None else due
    try:
        with trio.move_on_at(max(due, received_at)):
            await cleared.wait()
        if call.done or (cleared.is_set() and not call.wire.acks_cleared_marks):
            return
        if call.barge is not None and not cleared.is_set():
            call.barge.acknowledged(name)
        now = trio.current_time()
        try:
            await call.ws.send_message(call.wire.ack(name, _stream_ms(call, now)))
        except ConnectionClosed:
            return
        report.checkpoints.append(now - received_at)
    finally:
        call.pending_marks.discard(name)


def _stream_ms(call: _Call, now: float) -> int:
    """Milliseconds of the caller's audio sent by ``now`` (the stream's own clock)."""
    return call.sent * call.wire.frame_ms


async def _ack_played(call: _Call, now: float) -> None:
    """Acknowledge the newest packet that has played by ``now`` (KooKoo acknowledges
    packets in play order; an acknowledgement covers the packets before it)."""
    unacked = call.unacked
    newest = None
    while unacked and unacked[0][0] <= now:
        newest = unacked.popleft()[1]
    if newest is not None:
        await call.ws.send_message(call.wire.ack(newest, _stream_ms(call, now)))


async def _clear(call: _Call, now: float) -> None:
    """The app cleared its audio: nothing queued plays any more."""
    call.playout_end = now
    call.unacked.clear()
    call.cleared.set()
    call.cleared = trio.Event()
    if call.barge is not None:
        call.barge.cleared(now)
    for reply in call.wire.cleared():
        await call.ws.send_message(reply)


async def _receive(
    call: _Call, start_sent: float, report: WorkerReport, nursery: trio.Nursery
) -> None:
    first_audio = True
    ws = call.ws
    wire = call.wire
    read_audio = wire.audio
    tag = call.tag & 0xFFFF
    while call.received < call.frames:
        message = await ws.receive_message()
        now = trio.current_time()
        reply = read_audio(message)
        if reply is None:
            control = wire.control(message)
            if control.kind == "checkpoint":
                assert control.name is not None
                call.pending_marks.add(control.name)
                if call.barge is not None:
                    call.barge.checkpoint(control.name)
                nursery.start_soon(
                    _acknowledge, call, control.name, now, report, call.cleared, call.playout_end
                )
            elif control.kind == "clear":
                await _clear(call, now)
            elif control.kind == "bad_checkpoint":
                report.errors["bad_checkpoint"] += 1
            continue
        call.receive_times.append(now)
        call.playout_end = max(call.playout_end, now) + reply.seconds
        if first_audio:
            first_audio = False
            report.first_audio.append(now - start_sent)
        if reply.ack is not None:
            call.unacked.append((call.playout_end, reply.ack))
            await _ack_played(call, now)
        header = reply.header
        if header is None:
            continue  # audio that is not an echo of ours (the app's own prompts)
        counter, got_tag = header
        if got_tag != tag or counter >= call.frames:
            report.errors["mismatched"] += 1
            continue
        if call.counted[counter]:
            report.rtts.append(now - call.send_times[counter])
        barge = call.barge
        if barge is not None and counter < barge.frame and barge.pressed_at is not None:
            barge.old_audio(reply.seconds)
        call.received += 1
        report.live_received += 1


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
    connected_at = trio.current_time()
    report.connected += 1
    report.connects.append(connected_at - connect_at)
    # A handshake that ends inside the measured window means the call was not there for
    # all of it: its missing frames would silently shrink the load, so it is a failure.
    ok = connected_at <= full_load_at
    if not ok:
        report.errors["connected_late"] += 1
    wire = CallWire(job.provider, timestamp_origin_ms=int(time.time() * 1000))
    frame_s = wire.frame_ms / 1000
    # Frames from the first slot occurrence after now until end_at.
    frames = max(0, int((end_at - connected_at) / frame_s) - 1)
    press = job.dtmf is not None and wire.has_dtmf_events
    barge_at = barge_in_frame(job.barge_in_at, frames, wire.frame_ms)
    dtmf_at = key_press_frame(frames, barge_at, wire.frame_ms) if press and frames else -1
    call = _Call(ws, tag, wire, frames, [0.0] * frames, [False] * frames, dtmf_at)
    if barge_at >= 0 and wire.has_dtmf_events:
        call.barge = BargeIn(barge_at)
    try:
        start_sent = trio.current_time()
        for message in wire.opening():
            await ws.send_message(message)
        slots[tag % len(slots)].append(call)
        async with trio.open_nursery() as nursery:
            with trio.move_on_at(end_at + job.grace):
                await _receive(call, start_sent, report, nursery)
            # A checkpoint still waiting for its audio to play gets until then.
            with trio.move_on_at(end_at + job.grace):
                await trio.sleep_until(max(call.playout_end, trio.current_time()))
            nursery.cancel_scope.cancel()
    except* ConnectionClosed as group:
        # (except*: the receive loop raises it from inside the call's nursery.)
        # The server hung up: every frame of the call not echoed counts as lost, also the
        # ones the ticker could no longer send.
        ok = False
        closed = group.exceptions[0]
        assert isinstance(closed, ConnectionClosed)
        if closed.code == 1008:
            # A policy refusal (an opening the server did not understand, a bad signature):
            # its reason is what the person running the test needs to read.
            report.errors[f"refused by the server (1008: {closed.reason})"] += 1
        else:
            report.errors["closed_by_server"] += 1
        call.sent = call.frames
    finally:
        call.done = True
        report.calls_ok += ok
        report.sent += call.sent
        report.received += call.received
        report.gaps += audible_gaps(call.receive_times, frame=frame_s)
        if call.barge is not None:
            call.barge.record(report, echoes=call.received > 0)
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
    frame_ms = CallWire(job.provider).frame_ms
    # One 1 ms phase slot per millisecond of the provider's frame period.
    slots: list[list[_Call]] = [[] for _ in range(frame_ms)]
    async with trio.open_nursery() as outer:
        if progress is not None:
            outer.start_soon(_publisher, job, report, progress)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                _ticker, slots, base, full_load_at, end_at, report, job.dtmf, frame_ms / 1000
            )
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
