"""One simulated provider stream running on a transport: the provider's side, task by task.

Theory of operation: every task lives in one nursery opened by :meth:`Session.run`. What
goes on the wire, and what the app's messages mean, is the provider's :class:`ProviderWire`
(``_wire*.py``); everything with a clock is here, the same for every provider.

* the media task streams the caller's frames, re-cut to the provider's packet size and
  paced on absolute deadlines from ``start`` so it never drifts (and costs nothing under
  ``MockClock``), with in-band DTMF tones and the media faults applied;
* the reader checks and applies whatever the app sends (audio into the playout model, a
  clear answered at once);
* the ack task sleeps until the next checkpoint (or KooKoo packet) is due and acknowledges it;
* small timer tasks inject DTMF, malformed and binary frames, and end the call.

Whatever ends the call (caller done, duration reached, app closed or hung up, injected
disconnect) sets one event; the nursery is then cancelled and :meth:`Session._hang_up` closes
the socket as asked. Outgoing messages share one lock so sequence numbers follow wire order.
"""

from __future__ import annotations

import contextlib
import math
from collections import deque

import attrs
import orjson
import trio

from ..._exceptions import ConnectionClosed
from ...transport import Message, MessageTransport
from ._packets import InbandDtmf
from ._pcm import to_pcm16
from ._playout import Playout
from ._report import (
    CallReport,
    ClearRecord,
    CloseInfo,
    ConversationLine,
    Direction,
    EventRecord,
    SentDtmf,
)
from ._script import CallScript
from ._session_caller import CallerSide, EndReason
from ._session_report import Checkpoint, Counters, build_report, without_payload
from ._validate import (
    CheckpointCommand,
    ClearAudioCommand,
    ConversationTextCommand,
    HangupCommand,
    PlayAudioCommand,
    SendDtmfCommand,
    Violation,
    ViolationKind,
)
from ._wire import ProviderWire, WireMessage, WireSetup

__all__ = ["Session"]


#: Playout-model names of KooKoo's per-packet acks start with this, so they never collide
#: with an app's checkpoint names.
_PACKET = "\x00packet:"


@attrs.define(eq=False)
class Session(CallerSide):
    """The provider's side of one stream over ``transport``, configured by ``fake``."""

    fake: CallScript
    transport: MessageTransport
    call_id: str
    stream_id: str

    _wire: ProviderWire = attrs.field(init=False)
    _tones: InbandDtmf | None = attrs.field(init=False)
    _t0: float = 0.0
    _send_lock: trio.StrictFIFOLock = attrs.field(factory=trio.StrictFIFOLock)
    _playout: Playout = attrs.field(factory=Playout)
    _playout_changed: trio.Event = attrs.field(factory=trio.Event)
    _ended: trio.Event = attrs.field(factory=trio.Event)
    _end_reason: EndReason | None = None
    _stopped: bool = False
    _stopped_at: float = 0.0
    _close: CloseInfo | None = None
    #: What a failed send learnt about the close; the reader usually knows better.
    _lost: CloseInfo | None = None
    _events: list[EventRecord] = attrs.field(factory=list)
    _violations: list[Violation] = attrs.field(factory=list)
    _checkpoints: list[Checkpoint] = attrs.field(factory=list)
    _pending: dict[str, deque[Checkpoint]] = attrs.field(factory=dict)
    _clears: list[ClearRecord] = attrs.field(factory=list)
    _sent_dtmf: list[SentDtmf] = attrs.field(factory=list)
    _conversation: list[ConversationLine] = attrs.field(factory=list)
    _counters: Counters = attrs.field(factory=Counters)
    #: Playout names of the KooKoo packets waiting to be acknowledged -> their ``seqid``.
    _packets: dict[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        fake = self.fake
        setup = WireSetup(
            format=fake.format,
            call_id=self.call_id,
            stream_id=self.stream_id,
            account_id=fake.account_id,
            tracks=fake.tracks,
            headers=fake.extra_headers_map,
            headers_text=fake.extra_headers_text,
            timestamp_origin_ms=fake.timestamp_origin_ms,
        )
        self._wire = fake.spec.wire(setup)
        # Without DTMF events the caller's key presses are tones in their audio.
        in_band = fake.dtmf and not self._wire.has_dtmf_events
        self._tones = InbandDtmf(fake.format, fake.dtmf) if in_band else None

    # ---------------------------------------------------------------- lifecycle

    async def run(self) -> CallReport:
        """Run the stream to its end and report."""
        self._t0 = trio.current_time()
        try:
            if await self._send_start():
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._reader)
                    nursery.start_soon(self._acker)
                    nursery.start_soon(self._media)
                    nursery.start_soon(self._timers)
                    await self._ended.wait()
                    nursery.cancel_scope.cancel()
            await self._hang_up()
        finally:
            with trio.CancelScope(shield=True):
                await self.transport.aclose()
        return self._report()

    def _end(self, reason: EndReason) -> None:
        if self._end_reason is None:
            self._end_reason = reason
        self._ended.set()

    def _closed_by_app(self, exc: ConnectionClosed) -> None:
        if self._close is None:
            self._close = CloseInfo(code=exc.code, by="app", reason=exc.reason, at=self._now())
        self._end("app_closed")

    def _send_failed(self, exc: ConnectionClosed) -> None:
        # A send into a socket the app just closed only learns "peer went away". The app's
        # close (with its code) is already on its way to the reader, which runs before the
        # main task wakes up from ``_ended``: keep this as a fallback only.
        if self._lost is None:
            self._lost = CloseInfo(code=exc.code, by="app", reason=exc.reason, at=self._now())
        self._end("app_closed")

    def _is_gone(self) -> bool:
        return self._close is not None or self._lost is not None

    async def _hang_up(self) -> None:
        if self._close is None and self._lost is not None:
            self._close = self._lost
        if self._close is not None:
            return
        fake = self.fake
        if self._end_reason == "disconnect":
            self._close = CloseInfo(
                code=1006, by=self._wire.provider, reason="injected disconnect", at=self._now()
            )
            await self._abort()
            return
        stop = self._wire.stop()
        if fake.end == "stop" and stop is not None:
            await self._send(stop)
            self._stopped = True
            self._stopped_at = self._now()
            # A well-behaved app closes on stop; anything it sends meanwhile is a violation.
            with trio.move_on_after(fake.stop_linger):
                await self._reader()
            if self._is_closed():
                return
        await self._close_with(1000, "call ended")

    async def _abort(self) -> None:
        # 1006 is never sent on the wire: a real socket is dropped without a closing
        # handshake. Transports that can do that offer abort(); the in-memory one passes
        # the code to its peer instead.
        abort = getattr(self.transport, "abort", None)
        if callable(abort):
            await abort()
            return
        from websockets.exceptions import ProtocolError as InvalidCloseCode

        # trio_plivo.ws.WebSocket (no abort() yet) refuses to put 1006 in a close frame,
        # after dropping TCP in its cleanup: exactly the abrupt end we want.
        with contextlib.suppress(InvalidCloseCode):
            await self.transport.aclose(1006, "connection lost")

    def _is_closed(self) -> bool:
        return self._close is not None

    async def _close_with(self, code: int, reason: str) -> None:
        self._close = CloseInfo(code=code, by=self._wire.provider, reason=reason, at=self._now())
        await self.transport.aclose(code, reason)

    # ---------------------------------------------------------------- sending

    def _now(self) -> float:
        return trio.current_time() - self._t0

    def _position(self) -> int:
        return round(self._now() * self.fake.format.sample_rate)

    async def _send(self, message: WireMessage, *, record: bool = True) -> bool:
        """Send one protocol message; ``False`` if the app has gone (the call is ending)."""
        async with self._send_lock:
            if self._is_gone():
                return False
            # Numbered under the lock, so sequence numbers are in wire order.
            data = self._wire.encode(message)
            at = self._now()
            try:
                await self.transport.send_messages(
                    [data if isinstance(data, bytes) else orjson.dumps(data).decode()]
                )
            except ConnectionClosed as exc:
                self._send_failed(exc)
                return False
            self._counters.messages_sent += 1
            if record:
                fields = {"bytes": len(data)} if isinstance(data, bytes) else data
                self._record(at, "to_app", message.event, fields)
            return True

    async def _send_raw(self, message: Message, label: str) -> None:
        async with self._send_lock:
            if self._is_gone():
                return
            at = self._now()
            try:
                await self.transport.send_messages([message])
            except ConnectionClosed as exc:
                self._send_failed(exc)
                return
            self._record(at, "to_app", label, {})

    def _record(self, at: float, direction: Direction, event: str, message: object) -> None:
        fields = without_payload(message) if isinstance(message, dict) else {}
        fields.pop("event", None)
        self._events.append(EventRecord(at=at, direction=direction, event=event, fields=fields))

    async def _reader(self) -> None:
        while True:
            try:
                message = await self._receive()
            except ConnectionClosed as exc:
                self._closed_by_app(exc)
                return
            await self._handle(message)

    async def _receive(self) -> Message:
        # A slow reader must not be parked in receive when its stall begins, or the next
        # message would slip through: each receive is bounded by the next stall's start.
        # (Cancelling a receive loses no message on the transports we drive.)
        while True:
            now = self._now()
            next_stall = math.inf
            for start, length in self.fake.faults.slow_reader:
                if start <= now < start + length:
                    await trio.sleep_until(self._t0 + start + length)
                    now = self._now()
                elif start > now:
                    next_stall = min(next_stall, start)
            with trio.move_on_at(self._t0 + next_stall):
                return await self.transport.receive_message()

    async def _handle(self, message: Message) -> None:
        at = self._now()
        self._counters.messages_received += 1
        fmt = self.fake.format
        checked = self._wire.check(message)
        event, command = checked.event, checked.command
        size = {"bytes": len(message)} if isinstance(message, bytes) else {}
        if event is None:
            self._record(at, "from_app", "<binary>" if size else "<invalid>", size)
        elif event != self._wire.play_event or self.fake.record_media_events:
            self._record(at, "from_app", event, size if checked.data is None else checked.data)
        problems = [(p.kind, p.detail) for p in checked.problems]
        if self._stopped:
            command = None
            if at - self._stopped_at > self.fake.stop_grace:
                problems.insert(0, (ViolationKind.AFTER_STOP, "message after stop"))
            else:
                problems.clear()  # in flight when the stop went out: nothing to judge
        for kind, detail in problems:
            self._violations.append(Violation(at=at, kind=kind, event=event, detail=detail))
        if isinstance(command, PlayAudioCommand):
            samples = to_pcm16(fmt, command.payload)
            self._counters.play_audio_received += 1
            self._counters.audio_received_samples += len(samples)
            self._playout.enqueue(self._position(), samples)
            if command.ack is not None:
                name = _PACKET + command.ack
                self._packets[name] = command.ack
                self._playout.checkpoint(self._position(), name)
                self._wake_acker()
        elif isinstance(command, CheckpointCommand):
            self._counters.checkpoints_received += 1
            position = self._position()
            due = self._playout.checkpoint(position, command.name)
            ahead = (due - position) / fmt.sample_rate
            checkpoint = Checkpoint(command.name, at, queued_ahead=ahead)
            self._checkpoints.append(checkpoint)
            self._pending.setdefault(command.name, deque()).append(checkpoint)
            self._wake_acker()
        elif isinstance(command, ClearAudioCommand):
            await self._clear(at)
        elif isinstance(command, SendDtmfCommand):
            self._sent_dtmf.append(SentDtmf(at=at, digits=command.digits))
        elif isinstance(command, HangupCommand):
            self._end("app_hangup")
        elif isinstance(command, ConversationTextCommand):
            self._conversation.append(ConversationLine(at, command.kind, command.text))

    async def _clear(self, at: float) -> None:
        rate = self.fake.format.sample_rate
        self._counters.clears_received += 1
        outcome = self._playout.clear(self._position(), round(self.fake.clear_latency * rate))
        dropped: list[Checkpoint] = []
        for name in outcome.dropped_checkpoints:
            if self._packets.pop(name, None) is None:  # a KooKoo packet is never acked
                checkpoint = self._pending[name].popleft()
                checkpoint.outcome = "cleared"
                dropped.append(checkpoint)
        names = tuple(c.name for c in dropped)
        self._clears.append(
            ClearRecord(
                at=at,
                heard_after=outcome.heard_after / rate,
                discarded=outcome.discarded / rate,
                dropped_checkpoints=names,
            )
        )
        self._wake_acker()
        wire = self._wire
        if wire.acks_cleared_marks:  # Twilio: every mark a clear made moot is echoed at once
            for checkpoint in dropped:
                if await self._send(wire.played(checkpoint.name, self._now())):
                    checkpoint.acked_at = self._now()
        for reply in wire.cleared(names):
            await self._send(reply)

    def _wake_acker(self) -> None:
        self._playout_changed.set()

    async def _acker(self) -> None:
        rate = self.fake.format.sample_rate
        while True:
            due = self._playout.next_due()
            deadline = math.inf if due is None else self._t0 + due / rate
            with trio.move_on_at(deadline):
                await self._playout_changed.wait()
            self._playout_changed = trio.Event()
            for name in self._playout.pop_due(self._position()):
                seqid = self._packets.pop(name, None)
                if seqid is not None:
                    ack = self._wire.played(seqid, self._now())
                    if await self._send(ack, record=self.fake.record_media_events):
                        self._counters.packet_acks += 1
                    continue
                checkpoint = self._pending[name].popleft()
                if await self._send(self._wire.played(name, self._now())):
                    checkpoint.acked_at = self._now()
                    checkpoint.outcome = "played"

    # ---------------------------------------------------------------- report

    def _report(self) -> CallReport:
        close = self._close or CloseInfo(
            code=None, by=self._wire.provider, reason="", at=self._now()
        )
        return build_report(
            self.fake,
            call_id=self.call_id,
            stream_id=self.stream_id,
            close=close,
            playout=self._playout,
            events=self._events,
            checkpoints=self._checkpoints,
            clears=self._clears,
            sent_dtmf=self._sent_dtmf,
            conversation=self._conversation,
            violations=self._violations,
            counters=self._counters,
        )
