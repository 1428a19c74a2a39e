"""Playback marks (Plivo "checkpoints", Twilio "marks") and the tracker that resolves them.

A mark is positional: it is sent after every frame queued before it, and the provider
acknowledges it once all of that audio has played. Plivo never acknowledges a mark that sat
behind cleared audio, so a clear resolves every pending mark locally as ``CLEARED`` (and a
late acknowledgement for it is ignored); the end of the call resolves the rest as
``CALL_ENDED``. Nothing waiting on a mark can hang.

(We say "mark" in the API because ``checkpoint`` means something else in Trio.)
"""

from __future__ import annotations

import enum
from collections import OrderedDict

import attrs
import trio

__all__ = ["Mark", "MarkResult", "MarkStatus", "MarkTracker"]


class MarkStatus(enum.Enum):
    """How a mark was resolved."""

    #: The provider confirmed that everything queued before the mark played.
    PLAYED = "played"
    #: Audio was cleared (barge-in) before the mark was reached.
    CLEARED = "cleared"
    #: The call ended before the mark was reached.
    CALL_ENDED = "call ended"


@attrs.frozen(kw_only=True)
class MarkResult:
    """The outcome of a mark."""

    name: str
    status: MarkStatus
    #: Milliseconds of audio queued between the previous mark (or clear) and this one.
    queued_ms: float
    #: Milliseconds of that audio the caller heard (all of it when played; an estimate from
    #: the playout clock when interrupted).
    played_ms: float
    #: Seconds from sending the mark to its acknowledgement (``None`` unless played).
    round_trip_s: float | None = None

    @property
    def played(self) -> bool:
        return self.status is MarkStatus.PLAYED

    @property
    def interrupted(self) -> bool:
        return self.status is not MarkStatus.PLAYED


@attrs.define(eq=False)
class Mark:
    """A handle on one queued mark; ``await mark.wait()`` for its :class:`MarkResult`."""

    name: str
    queued_ms: float
    _done: trio.Event = attrs.field(factory=trio.Event, init=False, repr=False)
    _result: MarkResult | None = attrs.field(default=None, init=False, repr=False)
    # Filled in by the sender when the mark goes out (trio clock seconds):
    sent_at: float | None = attrs.field(default=None, init=False)
    #: When the first frame of this mark's audio started playing (estimated).
    segment_start: float | None = attrs.field(default=None, init=False)
    #: Milliseconds of this mark's audio actually sent (less than queued after a clear).
    sent_ms: float = attrs.field(default=0.0, init=False)

    @property
    def result(self) -> MarkResult | None:
        """The result once resolved, else ``None``."""
        return self._result

    @property
    def done(self) -> bool:
        return self._result is not None

    async def wait(self) -> MarkResult:
        """Wait until the mark is played, cleared or the call ends. Never hangs past the call."""
        await self._done.wait()
        assert self._result is not None
        return self._result

    def estimated_played_ms(self, now: float) -> float:
        """How much of this mark's audio has played by ``now``, per the playout clock."""
        if self.segment_start is None:
            return 0.0
        return min(self.sent_ms, max(0.0, (now - self.segment_start) * 1000.0))

    def _resolve(self, status: MarkStatus, played_ms: float, now: float) -> None:
        if self._result is not None:
            return
        round_trip = now - self.sent_at if status is MarkStatus.PLAYED and self.sent_at else None
        self._result = MarkResult(
            name=self.name,
            status=status,
            queued_ms=self.queued_ms,
            played_ms=played_ms,
            round_trip_s=round_trip,
        )
        self._done.set()


@attrs.frozen
class _Register:
    mark: Mark


@attrs.frozen
class _Ack:
    name: str


@attrs.frozen
class _Clear:
    at: float
    #: Playout estimate for the mark whose audio was being sent when the clear happened.
    in_progress_played_ms: float


_Notice = _Register | _Ack | _Clear


_MAX_ROUND_TRIPS = 10_000


class MarkTracker:
    """Owns the pending marks; runs as one task of the call (:meth:`run`).

    Other tasks talk to it only through :meth:`notify` (a bounded channel), so the pending set
    has exactly one writer.
    """

    def __init__(self, *, buffer: int = 256) -> None:
        self._pending: OrderedDict[str, Mark] = OrderedDict()
        self._send, self._receive = trio.open_memory_channel[_Notice](buffer)
        self.stale_acks = 0
        self.played = 0
        self.cleared = 0
        self.call_ended = 0
        #: Round trips (seconds) of the marks played, for metrics (the first 10,000).
        self.round_trips: list[float] = []

    @property
    def pending(self) -> int:
        return len(self._pending)

    def register(self, mark: Mark) -> None:
        self._notify(_Register(mark))

    def acked(self, name: str) -> None:
        self._notify(_Ack(name))

    def clear(self, at: float, in_progress_played_ms: float) -> None:
        self._notify(_Clear(at, in_progress_played_ms))

    def _notify(self, notice: _Notice) -> None:
        try:
            self._send.send_nowait(notice)
        except trio.WouldBlock:
            # 256 notices unprocessed means the tracker task is starved; handle inline rather
            # than block the reader or lose an ack.
            self._handle(notice)
        except trio.ClosedResourceError:
            pass  # the call is over; close_all() resolved everything

    async def run(self) -> None:
        async with self._receive:
            async for notice in self._receive:
                self._handle(notice)

    def _handle(self, notice: _Notice) -> None:
        now = trio.current_time()
        if type(notice) is _Register:
            mark = notice.mark
            self._pending[mark.name] = mark
        elif type(notice) is _Ack:
            target = self._pending.get(notice.name)
            if target is None:
                self.stale_acks += 1  # acked after a clear, a duplicate, or not ours
                return
            # Acks are in queue order: an ack for a later mark means earlier ones played too.
            while self._pending:
                name, mark = self._pending.popitem(last=False)
                mark._resolve(MarkStatus.PLAYED, mark.queued_ms, now)
                self.played += 1
                trip = mark.result.round_trip_s if mark.result is not None else None
                if trip is not None and len(self.round_trips) < _MAX_ROUND_TRIPS:
                    self.round_trips.append(trip)
                if name == notice.name:
                    break
        elif type(notice) is _Clear:
            first_unsent = True
            for mark in self._pending.values():
                if mark.sent_at is not None:
                    played = mark.estimated_played_ms(notice.at)
                elif first_unsent:
                    played = notice.in_progress_played_ms
                    first_unsent = False
                else:
                    played = 0.0
                mark._resolve(MarkStatus.CLEARED, played, now)
                self.cleared += 1
            self._pending.clear()

    def close_all(self) -> None:
        """The call ended: resolve everything still pending and stop accepting notices."""
        now = trio.current_time()
        # Handle notices already queued (an ack may be among them) before giving up.
        while True:
            try:
                self._handle(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
        for mark in self._pending.values():
            mark._resolve(MarkStatus.CALL_ENDED, mark.estimated_played_ms(now), now)
            self.call_ended += 1
        self._pending.clear()
        self._send.close()
