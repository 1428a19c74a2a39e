"""The call's sender: the only task that writes to the transport.

It drains the playback channel, cuts audio into frames of the stream's format and sends them
paced at real time, at most ``lead`` ahead of the provider's playout (:class:`PlayoutClock`).
A mark is sent only after every frame queued before it, and remembers where its audio's
playout started so a clear can say how much of it was heard. Urgent messages (clear, DTMF,
hang-up, conversation text) skip the audio queue. Everything ready goes out in one
``send_messages`` batch.

The application's side of playback (``Call.play``, ``Call.mark``, ``Call.clear``) also lives
here, on the same object, because it shares the sender's queue: those run between the
sender's awaits, never concurrently with its loop body.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterable, Callable

import trio

from .._exceptions import CallClosed, ConnectionClosed, LocalProtocolError
from .._format import AudioFormat
from ..audio import WireEncoder
from ..protocol import Checkpoint, OutboundCommand, PlayAudio, ProviderCodec
from ..protocol._detect import detected_codec
from ..transport import Message, MessageTransport
from ._config import PIECE_MS, CallConfig
from ._marks import Mark
from ._metronome import Alarm
from ._pacing import PlayoutClock
from ._playback_items import SILENCE, Queued, Segment, pieces
from ._reader import Finish
from ._taps import Taps

__all__ = ["Playback"]


class Playback:
    """The playback queue of one call and the task that sends it."""

    def __init__(
        self,
        transport: MessageTransport,
        codec: ProviderCodec,
        config: CallConfig,
        taps: Taps,
        *,
        finish: Finish,
        closed_error: Callable[[], CallClosed],
    ) -> None:
        self._transport = transport
        self._codec = codec
        self._config = config
        self._taps = taps
        self._finish = finish
        self._closed_error = closed_error
        capacity = max(1, math.ceil(config.playback_buffer_ms / PIECE_MS))
        # Each piece travels with the generation it was queued in, and the sender drops what
        # an older generation queued. clear() already empties the channel (a play() blocked on
        # a full one included) and ``_items``, and a play() still queueing stops at the new
        # generation; the tag is the second guard against audio going out after clearAudio.
        self._play_send, self._play_receive = trio.open_memory_channel[Queued](capacity)
        # Sender-owned state (mutated by clear() too, which runs between the sender's awaits).
        self._items: deque[bytes | Mark] = deque()
        self._head_offset = 0
        self._remainder = bytearray()
        self._remainder_since = -math.inf
        self._segment = Segment()
        self._urgent: list[Message] = []
        self._urgent_sent: list[trio.Event] = []
        # Items sent into the channel and not yet received, so the sender can tell the channel
        # is empty without a receive_nowait() raising WouldBlock (an exception per wake-up).
        # Counted before each send; a send cancelled while blocked is forgiven at the next
        # WouldBlock, so the count can only make the sender look once too often.
        self._in_channel = 0
        # The sender only ever sleeps on its alarm: to a pacing deadline, or (``_audio_rings``)
        # until whoever queues audio rings it. Never in the channel's receive(), which raises
        # and catches WouldBlock whenever it finds the channel empty: once per echoed frame.
        self._alarm = Alarm()
        self._audio_rings = False
        self._encode: Callable[[OutboundCommand], Message | None] = codec.send
        # Per-format constants, set from ``start`` (hot path: no property lookups per chunk).
        self._format: AudioFormat | None = None
        self._sample_bytes = 1
        self._piece_bytes = 1
        self._ms_per_byte = 0.0
        #: Bumped by every clear: a ``play`` still queueing an older generation stops.
        self.generation = 0
        self.queued_since_mark_ms = 0.0
        self.unsent_bytes = 0
        self.clock: PlayoutClock | None = None
        #: Set when the call ends: the loop stops at its next wake-up.
        self.stopped = False
        self.frames_sent = 0
        self.late_frames = 0

    def configure(self, fmt: AudioFormat) -> None:
        """The stream's wire format, known from ``start``."""
        self._format = fmt
        self._sample_bytes = fmt.bytes_per_sample
        self._piece_bytes = fmt.bytes_for(PIECE_MS)
        self._ms_per_byte = fmt.duration_ms(1)

    # --- the application's side -------------------------------------------------------------

    async def enqueue_wire(self, audio: bytes, generation: int) -> bool:
        """Hand wire-format audio to the sender in pieces; False if a clear intervened."""
        size = len(audio)
        if size % self._sample_bytes:
            raise LocalProtocolError(
                f"{size} bytes is not a whole number of {self._format} samples"
            )
        if not size:
            await trio.lowlevel.checkpoint()
            return generation == self.generation
        piece = self._piece_bytes
        chunks = (audio,) if size <= piece else pieces(audio, piece)
        play_send = self._play_send
        for chunk in chunks:
            if generation != self.generation:
                await trio.lowlevel.checkpoint()
                return False
            try:
                # While the buffer has room a piece is queued without a trip through the
                # scheduler (one task switch less per echoed frame, measured in bench echo);
                # cancellation is still honoured. A full buffer waits, which yields.
                await trio.lowlevel.checkpoint_if_cancelled()
                self._in_channel += 1
                try:
                    play_send.send_nowait((generation, chunk))
                except trio.WouldBlock:
                    await play_send.send((generation, chunk))
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                raise self._closed_error() from None
            if self._audio_rings:
                self._ring()
            self.queued_since_mark_ms += len(chunk) * self._ms_per_byte
            self.unsent_bytes += len(chunk)
        return True

    async def enqueue_stream(
        self, audio: AsyncIterable[bytes], encoder: WireEncoder | None, generation: int
    ) -> None:
        """Queue chunks as they arrive (converted by ``encoder``, with its state kept across
        them, or already wire bytes); a clear stops the stream and closes it."""
        try:
            async for chunk in audio:
                if generation != self.generation:
                    return
                wire = encoder.encode(chunk) if encoder is not None else bytes(chunk)
                if not await self.enqueue_wire(wire, generation):
                    return
            if encoder is not None:
                await self.enqueue_wire(encoder.flush(), generation)
        finally:
            aclose = getattr(audio, "aclose", None)
            if aclose is not None and generation != self.generation:
                await aclose()

    async def queue_mark(self, mark: Mark) -> None:
        """Queue ``mark`` behind everything queued so far."""
        self.queued_since_mark_ms = 0.0
        self._in_channel += 1
        try:
            await self._play_send.send((self.generation, mark))
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise self._closed_error() from None
        if self._audio_rings:
            self._ring()

    def clear(self, now: float) -> float:
        """Drop everything queued; return how much of the audio in progress (since the last
        mark) the caller has heard, in ms."""
        segment = self._segment
        in_progress = 0.0
        if segment.start is not None:
            in_progress = min(segment.sent_ms, max(0.0, (now - segment.start) * 1000.0))
        self.generation += 1
        self._items.clear()
        self._head_offset = 0
        self._remainder.clear()
        while True:
            try:
                self._play_receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                self._in_channel = 0
                break
        self._segment = Segment()
        self.queued_since_mark_ms = 0.0
        self.unsent_bytes = 0
        if self.clock is not None:
            self.clock.cleared(now)
        return in_progress

    def send_urgent(self, message: Message | None, sent: trio.Event | None = None) -> None:
        if message is not None:
            self._urgent.append(message)
        if sent is not None:
            self._urgent_sent.append(sent)
        self._ring()

    def _ring(self) -> None:
        self._audio_rings = False
        self._alarm.ring()

    def close(self) -> None:
        self._play_send.close()

    def lead_ms(self, now: float) -> float:
        return self.clock.lead(now) * 1000.0 if self.clock else 0.0

    # --- the sender task ------------------------------------------------------------------

    async def run(self) -> None:
        """The sender task: paced frames, marks in order, urgent messages first."""
        fmt = self._format
        assert fmt is not None, "configure() runs at start, before the sender"
        frame_ms = self._codec.frame_ms
        frame_bytes = fmt.bytes_for(frame_ms)
        frame_s = frame_ms / 1000.0
        silence = bytes([SILENCE[fmt.encoding]]) * frame_bytes
        # A provider with long frames (Exotel: 100 ms) needs a lead of at least one frame.
        lead_s = max(self._config.lead_ms / 1000.0, frame_s)
        clock = self.clock = PlayoutClock(frame_s, lead_s)
        # Fifty frames a second: talk to the detected provider's codec directly.
        encode = self._encode = detected_codec(self._codec).send
        send_messages = self._transport.send_messages
        receive_nowait = self._play_receive.receive_nowait
        items = self._items
        woke_late = False
        try:
            while not self.stopped:
                # Urgent messages are rare: most wake-ups start an empty batch without swaps.
                if self._urgent:
                    batch, self._urgent = self._urgent, []
                else:
                    batch = []
                sent_events: list[trio.Event] | tuple[()] = ()
                if self._urgent_sent:
                    sent_events, self._urgent_sent = self._urgent_sent, []
                now = trio.current_time()
                while True:
                    if not items:
                        if not self._in_channel:
                            break  # empty: no WouldBlock raised and caught per wake-up
                        try:
                            item = receive_nowait()
                        except (trio.WouldBlock, trio.EndOfChannel):
                            self._in_channel = 0  # what was counted but never sent
                            break
                        self._in_channel -= 1
                        if item[0] != self.generation:
                            continue
                        items.append(item[1])
                    head = items[0]
                    if type(head) is Mark:
                        if self._remainder:
                            if not clock.may_send(now):
                                break
                            frame = bytes(self._remainder) + silence[len(self._remainder) :]
                            self._remainder.clear()
                            batch.append(self._frame_message(frame, clock, now, woke_late))
                            continue
                        items.popleft()
                        message = encode(Checkpoint(name=head.name))
                        if message is not None:  # None: the codec tracks it from acks
                            batch.append(message)
                        self._taps.log("checkpoint", {"name": head.name})
                        head.sent_at = now
                        head.segment_start = self._segment.start
                        head.sent_ms = self._segment.sent_ms
                        self._segment = Segment()
                        continue
                    if not clock.may_send(now):
                        break
                    assert isinstance(head, bytes)
                    need = frame_bytes - len(self._remainder)
                    available = len(head) - self._head_offset
                    if available < need:
                        # Not a whole frame: keep the rest for the next chunk.
                        if not self._remainder:
                            self._remainder_since = now
                        self._remainder += head[self._head_offset :]
                        self.unsent_bytes -= available
                        items.popleft()
                        self._head_offset = 0
                        continue
                    if self._remainder:
                        frame = (
                            bytes(self._remainder)
                            + head[self._head_offset : self._head_offset + need]
                        )
                        self._remainder.clear()
                    elif self._head_offset == 0 and available == need:
                        frame = head
                    else:
                        frame = head[self._head_offset : self._head_offset + need]
                    self._head_offset += need
                    self.unsent_bytes -= need
                    if self._head_offset >= len(head):
                        items.popleft()
                        self._head_offset = 0
                    batch.append(self._frame_message(frame, clock, now, woke_late))
                # A lone partial frame waits for more audio (a streaming producer's next
                # chunk) for up to a frame, and never past the point where the provider would
                # run dry; then it goes out padded with silence.
                if (
                    not items
                    and self._remainder
                    and now >= self._partial_deadline(clock, frame_s)
                    and clock.may_send(now)
                ):
                    frame = bytes(self._remainder) + silence[len(self._remainder) :]
                    self._remainder.clear()
                    batch.append(self._frame_message(frame, clock, now, woke_late))
                if batch:
                    await send_messages(batch)
                for sent in sent_events:
                    sent.set()
                if batch:
                    continue
                deadline = await self._wait_for_work(clock, frame_s)
                # Woken more than a frame after the frame was due: the scheduler (not the
                # app) made us late, and a starved provider buffer is our fault.
                woke_late = trio.current_time() - deadline > frame_s
        except ConnectionClosed as exc:
            self._finish(exc.code, exc.reason)

    def _frame_message(self, frame: bytes, clock: PlayoutClock, now: float, late: bool) -> Message:
        if late and clock.starved(now):
            self.late_frames += 1
        start = clock.frame_sent(now)
        if self._taps.watch_sent:
            self._taps.sent(frame, start)
        segment = self._segment
        if segment.start is None:
            segment.start = start
        segment.sent_ms += clock.frame_s * 1000.0
        self.frames_sent += 1
        message = self._encode(PlayAudio(payload=frame))
        assert message is not None  # every provider puts audio on the wire
        return message

    def _partial_deadline(self, clock: PlayoutClock, frame_s: float) -> float:
        return max(clock.play_head - frame_s, self._remainder_since + frame_s)

    async def _wait_for_work(self, clock: PlayoutClock, frame_s: float) -> float:
        """Sleep until the next frame is due or new audio / an urgent message arrives;
        returns the deadline slept towards (``inf``: waited for audio)."""
        items = self._items
        if items:
            deadline = clock.next_send_time()
        elif self._remainder:
            deadline = max(self._partial_deadline(clock, frame_s), clock.next_send_time())
        else:
            deadline = math.inf
        # Nothing to pace (``inf``): wait for audio. A partial frame waits for more audio, at
        # most until the deadline. Pacing: only the deadline (or an urgent message) wakes us.
        self._audio_rings = not items
        try:
            await self._alarm.sleep_until(deadline)
        finally:
            self._audio_rings = False
        return deadline
