"""``Call``: everything about one stream, owning one nursery.

Theory of operation
-------------------
``open_call`` opens a nursery and starts three tasks on it:

* the **reader** -- the only task that receives from the transport. It parses each message
  with the provider codec and pushes events into the :class:`InboundQueue` without ever
  waiting on the application (a slow app loses its *oldest* audio, never a control event, and
  never stalls the socket: providers punish slow readers). Acks go to the mark tracker.
* the **sender** -- the only task that writes to the transport. It drains the playback
  channel, cuts audio into frames of the stream's format and sends them paced at real time,
  at most ``lead`` ahead of the provider's playout (:class:`PlayoutClock`). A mark is sent only
  after every frame queued before it. Urgent messages (clear, DTMF) skip the audio queue.
  Everything it has ready goes out in one ``send_messages`` batch.
* the **mark tracker** -- the only owner of pending marks; resolves them from acks, clears
  and the end of the call.

The application talks to the call from its own task(s): ``async for event in call``,
``play``, ``mark``, ``clear``, ``send_dtmf``, ``aclose``. When the call ends -- remote close,
``stop``, our close, an error -- the background tasks are cancelled, the event iterator
ends, every pending mark resolves (``CALL_ENDED``) and further operations raise
:class:`~trio_plivo.CallClosed`.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Final, Protocol

import attrs
import trio

from .._exceptions import (
    CallClosed,
    ConnectionClosed,
    LocalProtocolError,
    RemoteProtocolError,
    TrioPlivoError,
)
from .._format import AudioFormat, Encoding
from ..audio import (
    DTMF_DIGITS,
    DtmfDetector,
    JsonlEventLog,
    StereoRecorder,
    WireDecoder,
    WireEncoder,
    decode_wire,
    dtmf_tones,
)
from ..protocol import (
    Checkpoint,
    ClearAudio,
    ClearedAudio,
    ConversationKind,
    ConversationText,
    Dtmf,
    Hangup,
    InboundEvent,
    Media,
    MuteStream,
    PlayAudio,
    PlayedStream,
    PlayFailed,
    PlivoCodec,
    ProviderCodec,
    SendDtmf,
    Start,
    Stop,
    StreamError,
    StreamState,
    UnknownEvent,
    UnmuteStream,
)
from ..transport import Message, MessageTransport
from ._audio_source import AudioSource, to_wire_format
from ._inbound import InboundQueue
from ._marks import Mark, MarkResult, MarkTracker
from ._pacing import PlayoutClock
from ._stats import CallStatistics

__all__ = ["Call", "CallConfig", "open_call"]

logger = logging.getLogger("trio_plivo.call")

_SILENCE: Final = {Encoding.MULAW: 0xFF, Encoding.ALAW: 0xD5, Encoding.L16: 0x00}
#: play() hands audio to the sender in pieces of this many milliseconds, so that the
#: playback buffer bound is a bound on queued *time*, whatever chunk sizes the app uses.
_PIECE_MS: Final = 100
#: Log the first few malformed messages of a call, then one in this many.
_LOG_EVERY: Final = 100


class HangupClient(Protocol):
    """Something that hangs up a call by id over the provider's REST API."""

    async def hangup_call(self, call_uuid: str) -> bool: ...


@attrs.frozen(kw_only=True)
class CallConfig:
    """Tuning for one call. The defaults suit a voice agent on Plivo."""

    #: How far ahead of the provider's playout we send audio. More rides over hiccups;
    #: less makes barge-in faster (a clear discards at most this much).
    lead_ms: float = 100.0
    #: Inbound audio kept for an application that falls behind, before the oldest is dropped.
    inbound_buffer_ms: float = 1000.0
    #: Outbound audio that ``play()`` may queue before it waits (backpressure).
    playback_buffer_ms: float = 10_000.0
    #: How long to wait for the provider's ``start`` message.
    start_timeout: float = 10.0
    #: How long a close (our side) may take before the transport is dropped.
    close_timeout: float = 5.0
    #: Record each call to ``<record_dir>/<call id>.wav``: stereo, caller left, played
    #: audio right, aligned on the playout clock, written incrementally.
    record_dir: str | os.PathLike[str] | None = None
    #: Append every inbound event (payloads omitted) and outbound command to
    #: ``<event_log_dir>/events-YYYY-MM-DD.jsonl``.
    event_log_dir: str | os.PathLike[str] | None = None
    #: Hangs up calls for :meth:`Call.hangup` on providers without an in-stream hang-up
    #: message (``hangup_call(call_id)``; e.g. :class:`trio_plivo.rest.PlivoRestClient`).
    hangup_client: HangupClient | None = None

    def __attrs_post_init__(self) -> None:
        from .._exceptions import ConfigurationError

        if self.lead_ms < 20:
            raise ConfigurationError("lead_ms must be at least one 20 ms frame")
        if self.inbound_buffer_ms < 20 or self.playback_buffer_ms < _PIECE_MS:
            raise ConfigurationError("buffers must hold at least one frame")


class _Wake:
    """Put through the playback channel to wake a sender waiting for audio (cheaper than a
    cancel scope around every wait)."""


_WAKE: Final = _Wake()


@attrs.define(eq=False)
class _Segment:
    """The audio sent since the last mark (or clear): where its playout started, how long."""

    start: float | None = None
    sent_ms: float = 0.0


class Call:
    """One live media stream. Create with :func:`open_call` (or let the server do it).

    Iterate it for inbound events; ``play`` audio; ``mark`` positions in the playback and
    ``await`` their outcome; ``clear`` to barge in; ``send_dtmf``; ``aclose``.
    """

    def __init__(
        self,
        transport: MessageTransport,
        codec: ProviderCodec,
        config: CallConfig,
    ) -> None:
        self._transport = transport
        self._codec = codec
        self._config = config
        self._tasks: trio.Nursery | None = None
        self._transport_closed = False
        self._start: Start | None = None
        self._ended = trio.Event()
        self._closing = False
        self._unsent_bytes = 0
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._inbound = InboundQueue(max_media=self._inbound_frames())
        self._tracker = MarkTracker()
        self._mark_names = itertools.count(1)
        self._mark_names_in_use: set[str] = set()
        pieces = max(1, math.ceil(config.playback_buffer_ms / _PIECE_MS))
        self._play_send, self._play_receive = trio.open_memory_channel[bytes | Mark | _Wake](pieces)
        # Sender-owned state (mutated by clear() too, which runs between the sender's awaits).
        self._items: deque[bytes | Mark] = deque()
        self._head_offset = 0
        self._remainder = bytearray()
        self._remainder_since = -math.inf
        self._segment = _Segment()
        self._urgent: list[Message] = []
        self._urgent_sent: list[trio.Event] = []
        self._dtmf_detector: DtmfDetector | None = None
        self._wake: trio.CancelScope | None = None
        self._waiting_for_audio = False
        # Per-format constants, set from ``start`` (hot path: no property lookups per chunk).
        self._sample_bytes = 1
        self._piece_bytes = 1
        self._ms_per_byte = 0.0
        self._generation = 0
        self._queued_since_mark_ms = 0.0
        self._clock: PlayoutClock | None = None
        # Counters.
        self._frames_received = 0
        self._frames_sent = 0
        self._late_frames = 0
        self._malformed = 0
        self._unknown = 0
        self._recorder: StereoRecorder | None = None
        self._event_log: JsonlEventLog | None = None

    def __repr__(self) -> str:
        state = "ended" if self._ended.is_set() else "live" if self._start else "starting"
        return f"<Call {state} provider={self._codec.provider} call_id={self.call_id!r}>"

    # --- metadata from ``start`` ----------------------------------------------------------

    @property
    def start_event(self) -> Start:
        """The provider's ``start`` message (available once :func:`open_call` returned)."""
        if self._start is None:
            raise LocalProtocolError("the stream has not started yet")
        return self._start

    @property
    def call_id(self) -> str | None:
        return self._start.call_id if self._start else None

    @property
    def stream_id(self) -> str | None:
        return self._start.stream_id if self._start else None

    @property
    def account_id(self) -> str | None:
        return self._start.account_id if self._start else None

    @property
    def tracks(self) -> tuple[str, ...]:
        return self._start.tracks if self._start else ()

    @property
    def media_format(self) -> AudioFormat:
        """The negotiated wire format: everything played must be (or be converted to) this."""
        return self.start_event.media_format

    @property
    def extra_headers(self) -> Mapping[str, str]:
        return self._start.extra_headers if self._start else {}

    @property
    def provider(self) -> str:
        return self._codec.provider

    # SDK-style getters, for people coming from the official Plivo SDKs.
    def get_stream_id(self) -> str | None:
        return self.stream_id

    def get_call_id(self) -> str | None:
        return self.call_id

    def get_account_id(self) -> str | None:
        return self.account_id

    def get_header(self, key: str, default: str | None = None) -> str | None:
        return self.extra_headers.get(key, default)

    @property
    def pending_mark_names(self) -> frozenset[str]:
        """Names of the marks placed and not yet resolved."""
        return frozenset(self._mark_names_in_use)

    @property
    def ended(self) -> bool:
        """True once the call is over (for whatever reason)."""
        return self._ended.is_set()

    async def wait_ended(self) -> None:
        """Wait until the call is over."""
        await self._ended.wait()

    # --- inbound --------------------------------------------------------------------------

    def __aiter__(self) -> Call:
        return self

    async def __anext__(self) -> InboundEvent:
        try:
            return await self._inbound.get()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    async def next_event(self) -> InboundEvent:
        """The next inbound event. Raises :class:`CallClosed` once the call is over and every
        event received before the end has been delivered."""
        try:
            return await self._inbound.get()
        except trio.EndOfChannel:
            raise self._closed_error() from None

    # --- outbound -------------------------------------------------------------------------

    async def play(self, audio: AudioSource, *, sample_rate: int | None = None) -> None:
        """Queue audio for paced playback; waits while the playback buffer is full.

        ``audio`` may be:

        * ``bytes`` already in the stream's wire format (:attr:`media_format`), when
          ``sample_rate`` is not given;
        * ``bytes`` of little-endian PCM16 mono at ``sample_rate`` Hz (any rate: 8000, 16000,
          22050, 24000, 44100, 48000 ...), converted to the wire format;
        * a WAV file: a path, :class:`~trio_plivo.audio.WavAudio`, or ``bytes`` starting with a
          RIFF/WAVE header (PCM16, µ-law or A-law, any rate, stereo is downmixed);
        * an async iterable of chunks (streaming TTS): PCM16 at ``sample_rate``, or wire bytes
          without it. Chunks are converted as they arrive, with resampler state kept across
          them, and the tail is flushed at the end.

        A :meth:`clear` while ``play`` is still queueing stops it: the rest is dropped and
        ``play`` returns.
        """
        self._check_open()
        generation = self._generation
        if sample_rate is None and type(audio) is bytes and audio[:4] != b"RIFF":
            await self._enqueue_wire(audio, generation)  # the hot path: wire-format frames
            return
        fmt = self.media_format
        if isinstance(audio, AsyncIterable):
            encoder = WireEncoder(sample_rate, fmt) if sample_rate is not None else None
            try:
                async for chunk in audio:
                    if generation != self._generation:
                        return
                    wire = encoder.encode(chunk) if encoder is not None else bytes(chunk)
                    if not await self._enqueue_wire(wire, generation):
                        return
                if encoder is not None:
                    await self._enqueue_wire(encoder.flush(), generation)
            finally:
                aclose = getattr(audio, "aclose", None)
                if aclose is not None and generation != self._generation:
                    await aclose()
            return
        await self._enqueue_wire(to_wire_format(audio, fmt, sample_rate), generation)

    async def _enqueue_wire(self, audio: bytes, generation: int) -> bool:
        """Hand wire-format audio to the sender in pieces; False if a clear intervened."""
        size = len(audio)
        if size % self._sample_bytes:
            raise LocalProtocolError(
                f"{size} bytes is not a whole number of {self.media_format} samples"
            )
        if not size:
            await trio.lowlevel.checkpoint()
            return generation == self._generation
        piece = self._piece_bytes
        chunks = (audio,) if size <= piece else _pieces(audio, piece)
        play_send = self._play_send
        for chunk in chunks:
            if generation != self._generation:
                await trio.lowlevel.checkpoint()
                return False
            try:
                # While the buffer has room a piece is queued without a trip through the
                # scheduler (one task switch less per echoed frame, measured in bench echo);
                # cancellation is still honoured. A full buffer waits, which yields.
                await trio.lowlevel.checkpoint_if_cancelled()
                try:
                    play_send.send_nowait(chunk)
                except trio.WouldBlock:
                    await play_send.send(chunk)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                raise self._closed_error() from None
            self._queued_since_mark_ms += len(chunk) * self._ms_per_byte
            self._unsent_bytes += len(chunk)
        return True

    def pcm_decoder(self, sample_rate: int = 16000) -> WireDecoder:
        """A decoder from this call's wire format to PCM16 at ``sample_rate`` (stateful: feed
        it every inbound frame in order, e.g. ``decoder.decode(event.payload)``)."""
        return WireDecoder(self.media_format, sample_rate)

    def caller_audio(self, sample_rate: int = 16000) -> AsyncIterator[bytes]:
        """Iterate the caller's audio as PCM16 at ``sample_rate`` (e.g. 16 kHz for speech
        recognition), each inbound frame decoded once. Consumes the call's events: use it when
        audio is all you want; otherwise iterate the call and use :meth:`pcm_decoder`."""
        return _CallerAudio(self, self.pcm_decoder(sample_rate))

    async def mark(self, name: str | None = None) -> Mark:
        """Place a mark after everything queued so far; ``await mark.wait()`` for its outcome.

        ``name`` defaults to ``mark-<n>``; names must be unique among pending marks.
        """
        self._check_open()
        if name is None:
            name = f"mark-{next(self._mark_names)}"
            while name in self._mark_names_in_use:
                name = f"mark-{next(self._mark_names)}"
        if not name:
            raise LocalProtocolError("a mark needs a non-empty name")
        if name in self._mark_names_in_use:
            raise LocalProtocolError(f"a mark named {name!r} is already pending")
        mark = Mark(name=name, queued_ms=self._queued_since_mark_ms)
        self._queued_since_mark_ms = 0.0
        self._mark_names_in_use.add(name)
        self._tracker.register(mark)
        assert self._tasks is not None
        self._tasks.start_soon(self._forget_name_when_done, mark)
        try:
            await self._play_send.send(mark)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise self._closed_error() from None
        return mark

    async def _forget_name_when_done(self, mark: Mark) -> None:
        await mark.wait()
        self._mark_names_in_use.discard(mark.name)

    async def wait_played(self, name: str | None = None) -> MarkResult:
        """Place a mark and wait for its outcome: "has everything I queued been heard?"."""
        return await (await self.mark(name)).wait()

    async def clear(self) -> None:
        """Barge-in: drop all queued audio here and at the provider, and resolve every
        pending mark as ``CLEARED`` (with how much of its audio the caller heard)."""
        self._check_open()
        now = trio.current_time()
        segment = self._segment
        in_progress = 0.0
        if segment.start is not None:
            in_progress = min(segment.sent_ms, max(0.0, (now - segment.start) * 1000.0))
        self._generation += 1
        self._items.clear()
        self._head_offset = 0
        self._remainder.clear()
        while True:
            try:
                self._play_receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
        self._segment = _Segment()
        self._queued_since_mark_ms = 0.0
        self._unsent_bytes = 0
        if self._clock is not None:
            self._clock.cleared(now)
        self._tracker.clear(now, in_progress)
        self._log_event("clearAudio", {})
        self._send_urgent(self._codec.send(ClearAudio()))
        await trio.lowlevel.checkpoint()

    async def send_dtmf(self, digits: str) -> None:
        """Play DTMF ``digits`` into the call.

        Where the provider has a DTMF command (Plivo's ``sendDTMF``) it goes out at once,
        ahead of queued audio; otherwise in-band tones are queued like any other audio.
        """
        self._check_open()
        self._log_event("sendDTMF", {"digits": digits})
        if self._codec.supports_dtmf_out:
            self._send_urgent(self._codec.send(SendDtmf(digits=digits)))
            await trio.lowlevel.checkpoint()
            return
        if not digits or any(d not in DTMF_DIGITS for d in digits):
            raise LocalProtocolError(f"invalid DTMF digits {digits!r} (allowed: 0-9 A-D * #)")
        rate = self.media_format.sample_rate
        await self.play(dtmf_tones(digits, rate), sample_rate=rate)

    async def hangup(self) -> None:
        """Hang up the phone call, not just the stream, then close the call.

        Uses the provider's in-stream hang-up message where there is one; otherwise the REST
        client in :attr:`CallConfig.hangup_client` (e.g. :class:`trio_plivo.rest.PlivoRestClient`),
        bounded by ``close_timeout`` and shielded so a hang-up is never half-done; without
        either, closing the stream is all that can be done (put ``<Hangup/>`` after
        ``<Stream>`` in your answer XML to end the call then).
        """
        self._check_open()
        timeout = self._config.close_timeout
        if self._codec.supports_hangup:
            done = trio.Event()
            self._send_urgent(self._codec.send(Hangup()), done)
            with trio.move_on_after(timeout):
                await done.wait()
        elif self._config.hangup_client is not None and self.call_id:
            with trio.move_on_after(timeout) as scope:
                scope.shield = True
                try:
                    await self._config.hangup_client.hangup_call(self.call_id)
                except TrioPlivoError as exc:
                    logger.warning("call %s: REST hang-up failed: %s", self.call_id, exc)
        self._log_event("hangup", {})
        await self.aclose(1000, "hung up")

    def _send_urgent(self, message: Message | None, sent: trio.Event | None = None) -> None:
        if message is not None:
            self._urgent.append(message)
        if sent is not None:
            self._urgent_sent.append(sent)
        if self._waiting_for_audio:
            # The sender is blocked in receive(), so the channel is empty: this can't block.
            self._play_send.send_nowait(_WAKE)
        elif self._wake is not None:
            self._wake.cancel()

    # --- closing --------------------------------------------------------------------------

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """End the call from our side: stop the background tasks, resolve pending marks and
        close the transport (bounded by ``close_timeout``). Idempotent."""
        self._finish(code, reason or "closed by the application")
        if not self._transport_closed:
            self._transport_closed = True
            with trio.move_on_after(self._config.close_timeout) as scope:
                scope.shield = True
                with suppress(ConnectionClosed):
                    await self._transport.aclose(self.close_code or code, reason)
        await trio.lowlevel.checkpoint()

    def _finish(self, code: int | None, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        self.close_code = code
        self.close_reason = reason
        self._codec.connection_closed()
        self._inbound.close()
        self._tracker.close_all()
        self._play_send.close()
        self._log_event("closed", {"code": code, "reason": reason})
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        if self._event_log is not None:
            self._event_log.close()
            self._event_log = None
        self._ended.set()
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()

    def _check_open(self) -> None:
        if self._closing:
            raise self._closed_error()

    def _closed_error(self) -> CallClosed:
        return CallClosed(self.close_reason or "call closed", code=self.close_code)

    def _detect_dtmf(self, event: Media) -> None:
        assert self._dtmf_detector is not None and self._start is not None
        if event.track != "inbound":
            return
        samples = decode_wire(event.payload, self._start.media_format)
        for press in self._dtmf_detector.feed(samples):
            self._inbound.push(Dtmf(digit=press.digit, track="inbound", stream_id=self.stream_id))
            self._log_event("dtmf", {"digit": press.digit, "detected": True})

    # --- recording ------------------------------------------------------------------------

    def _open_recordings(self, start: Start) -> None:
        config = self._config
        name = _safe_file_name(start.call_id or start.stream_id)
        if config.record_dir is not None:
            os.makedirs(config.record_dir, exist_ok=True)
            self._recorder = StereoRecorder(
                os.path.join(config.record_dir, f"{name}.wav"),
                start=trio.current_time(),
                sample_rate=start.media_format.sample_rate,
            )
        if config.event_log_dir is not None:
            self._event_log = JsonlEventLog(config.event_log_dir)

    def _record(self, side: int, wire: bytes, at: float) -> None:
        assert self._recorder is not None
        assert self._start is not None
        fmt = self._start.media_format
        pcm = decode_wire(wire, fmt).astype("<i2").tobytes()
        if side == 0:
            self._recorder.add_inbound(pcm, fmt.sample_rate, at)
        else:
            self._recorder.add_outbound(pcm, fmt.sample_rate, at)

    def _log_event(self, name: str, fields: Mapping[str, object]) -> None:
        if self._event_log is not None:
            # The record's own keys win: call_id is on every line already.
            extra = {_LOG_RENAMES.get(k, k): v for k, v in fields.items() if k != "call_id"}
            self._event_log.log(time.time(), self.call_id or "", name, extra)

    # --- statistics -----------------------------------------------------------------------

    def statistics(self) -> CallStatistics:
        """A snapshot of this call's counters."""
        now = trio.current_time()
        lead = self._clock.lead(now) * 1000.0 if self._clock else 0.0
        fmt = self._start.media_format if self._start else None
        queued_ms = fmt.duration_ms(self._unsent_bytes) if fmt else 0.0
        return CallStatistics(
            frames_received=self._frames_received,
            frames_dropped=self._inbound.dropped,
            frames_sent=self._frames_sent,
            late_frames=self._late_frames,
            malformed_messages=self._malformed,
            unknown_events=self._unknown,
            lead_ms=lead,
            queued_ms=queued_ms,
            pending_marks=self._tracker.pending,
            stale_acks=self._tracker.stale_acks,
        )

    # --- background tasks -----------------------------------------------------------------

    async def _receive_start(self) -> None:
        """Read until the provider's ``start`` (before any task runs)."""
        with trio.move_on_after(self._config.start_timeout):
            while self._start is None:
                try:
                    message = await self._transport.receive_message()
                except ConnectionClosed as exc:
                    self._finish(exc.code, exc.reason)
                    self._transport_closed = True
                    raise CallClosed(f"closed before start: {exc.reason}", code=exc.code) from None
                self._handle_message(message)
                if self._start is None and self._codec.state is StreamState.ENDED:
                    # The codec gave up on this stream (e.g. provider detection saw a first
                    # message it cannot place): no start will ever be understood.
                    await self.aclose(1008, "unrecognised stream protocol")
                    raise CallClosed("unrecognised stream protocol", code=1008)
        if self._start is None:
            await self.aclose(1008, "no start message")
            raise CallClosed(f"no start message within {self._config.start_timeout} s", code=1008)

    def _inbound_frames(self) -> int:
        """``inbound_buffer_ms`` in the provider's frames (Exotel: 100 ms, KooKoo: 10 ms)."""
        return max(1, math.ceil(self._config.inbound_buffer_ms / self._codec.frame_ms))

    async def _run_tasks(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            async with trio.open_nursery() as tasks:
                self._tasks = tasks
                if self._closing:  # ended while receiving start (e.g. a stop right after it)
                    tasks.cancel_scope.cancel()
                tasks.start_soon(self._run_reader, name="trio_plivo.call.reader")
                tasks.start_soon(self._run_sender, name="trio_plivo.call.sender")
                tasks.start_soon(self._tracker.run, name="trio_plivo.call.marks")
                task_status.started()
        except BaseException as exc:
            if not _only_cancelled(exc):
                # A crashed task (a bug) still leaves no mark waiting, no operation hanging.
                logger.exception("call %s: internal error in a call task", self.call_id)
                self._finish(1011, "internal error")
            raise

    async def _run_reader(self) -> None:
        receive = self._transport.receive_message
        handle = self._handle_message
        try:
            while not self._closing:
                handle(await receive())
        except ConnectionClosed as exc:
            self._finish(exc.code, exc.reason)

    def _handle_message(self, message: Message) -> None:
        try:
            events = self._codec.receive(message)
        except RemoteProtocolError as exc:
            self._malformed += 1
            if self._malformed <= 3 or self._malformed % _LOG_EVERY == 0:
                logger.warning(
                    "call %s: skipped malformed message #%d: %s",
                    self.call_id,
                    self._malformed,
                    exc,
                )
            return
        inbound = self._inbound
        for event in events:
            kind = type(event)
            if kind is Media:
                self._frames_received += 1
                if self._dtmf_detector is not None and isinstance(event, Media):
                    self._detect_dtmf(event)
                if (
                    self._recorder is not None
                    and isinstance(event, Media)
                    and event.track == "inbound"
                ):
                    self._record(0, event.payload, trio.current_time())
            elif isinstance(event, PlayedStream):
                self._tracker.acked(event.name)
            elif isinstance(event, Start):
                self._start = event
                fmt = event.media_format
                self._sample_bytes = fmt.bytes_per_sample
                self._piece_bytes = fmt.bytes_for(_PIECE_MS)
                self._ms_per_byte = fmt.duration_ms(1)
                self._open_recordings(event)
                # A detecting codec knows the provider's frame size only now.
                self._inbound.max_media = self._inbound_frames()
                if not self._codec.has_dtmf_events:
                    self._dtmf_detector = DtmfDetector(event.media_format.sample_rate)
            elif kind is UnknownEvent:
                self._unknown += 1
            if self._event_log is not None:
                self._log_event(_EVENT_NAMES.get(kind, kind.__name__), attrs.asdict(event))
            inbound.push(event)
            if kind is Stop:
                # The provider is done; the socket close that follows is a formality.
                self._finish(1000, "stream stopped by the provider")
                return

    async def _run_sender(self) -> None:
        fmt = self.media_format
        frame_ms = self._codec.frame_ms
        frame_bytes = fmt.bytes_for(frame_ms)
        frame_s = frame_ms / 1000.0
        silence = bytes([_SILENCE[fmt.encoding]]) * frame_bytes
        # A provider with long frames (Exotel: 100 ms) needs a lead of at least one frame.
        lead_s = max(self._config.lead_ms / 1000.0, frame_s)
        clock = self._clock = PlayoutClock(frame_s, lead_s)
        encode = self._codec.send
        send_messages = self._transport.send_messages
        receive_nowait = self._play_receive.receive_nowait
        items = self._items
        woke_late = False
        try:
            while not self._closing:
                batch, self._urgent = self._urgent, []
                sent_events, self._urgent_sent = self._urgent_sent, []
                now = trio.current_time()
                while True:
                    if not items:
                        try:
                            item = receive_nowait()
                        except (trio.WouldBlock, trio.EndOfChannel):
                            break
                        if isinstance(item, _Wake):
                            continue
                        items.append(item)
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
                        self._log_event("checkpoint", {"name": head.name})
                        head.sent_at = now
                        head.segment_start = self._segment.start
                        head.sent_ms = self._segment.sent_ms
                        self._segment = _Segment()
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
                        self._unsent_bytes -= available
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
                    self._unsent_bytes -= need
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

    def _frame_message(
        self,
        frame: bytes,
        clock: PlayoutClock,
        now: float,
        woke_late: bool,
    ) -> Message:
        if woke_late and clock.starved(now):
            self._late_frames += 1
        start = clock.frame_sent(now)
        if self._recorder is not None:
            self._record(1, frame, start)
        segment = self._segment
        if segment.start is None:
            segment.start = start
        segment.sent_ms += clock.frame_s * 1000.0
        self._frames_sent += 1
        message = self._codec.send(PlayAudio(payload=frame))
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
        if deadline == math.inf:
            # Nothing to pace: just wait for audio (or a _WAKE from an urgent message).
            self._waiting_for_audio = True
            try:
                item = await self._play_receive.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                await trio.sleep_forever()  # closing: the call's cancel is on its way
            finally:
                self._waiting_for_audio = False
            if not isinstance(item, _Wake):
                items.append(item)
            return deadline
        with trio.CancelScope(deadline=deadline) as scope:
            self._wake = scope
            try:
                if items:
                    await trio.sleep_forever()
                else:
                    item = await self._play_receive.receive()
                    if not isinstance(item, _Wake):
                        items.append(item)
            except (trio.EndOfChannel, trio.ClosedResourceError):
                await trio.sleep_forever()  # closing: the call's cancel is on its way
            finally:
                self._wake = None
        return deadline

    # --- conversation text (browser clients) ----------------------------------------------

    async def send_text(self, kind: ConversationKind, text: str) -> bool:
        """Show a line of the conversation on a client that has a screen (the browser page):
        ``"userMessage"`` (what the caller said), ``"assistantMessage"`` (what the app starts
        saying) or ``"cancelLastAssistantMessage"`` (barge-in: ``text`` is what was heard).

        It goes out at once, ahead of queued audio. Phone providers have no such message: there
        it does nothing and returns False (so one handler serves both). Raises
        :class:`~trio_plivo.LocalProtocolError` for an unknown ``kind``.
        """
        command = ConversationText(kind=kind, text=text)
        self._check_open()
        if not self._codec.supports_text_messages:
            await trio.lowlevel.checkpoint()
            return False
        self._log_event(kind, {"text": text})
        self._send_urgent(self._codec.send(command))
        await trio.lowlevel.checkpoint()
        return True


#: Event-log names: Plivo's wire names, whichever provider the call speaks.
_EVENT_NAMES: Final[dict[type, str]] = {
    Start: "start",
    Media: "media",
    Dtmf: "dtmf",
    PlayedStream: "playedStream",
    ClearedAudio: "clearedAudio",
    Stop: "stop",
    PlayFailed: "playFailed",
    StreamError: "error",
    MuteStream: "muteStream",
    UnmuteStream: "unmuteStream",
    UnknownEvent: "unknown",
}


_LOG_RENAMES: Final = {"event": "event_name", "ts": "event_ts"}


def _pieces(audio: bytes, size: int) -> list[bytes]:
    view = memoryview(audio)
    return [bytes(view[offset : offset + size]) for offset in range(0, len(audio), size)]


def _safe_file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "call"


class _CallerAudio:
    """``Call.caller_audio()``: inbound media events decoded to PCM16, nothing else."""

    def __init__(self, call: Call, decoder: WireDecoder) -> None:
        self._call = call
        self._decoder = decoder

    def __aiter__(self) -> _CallerAudio:
        return self

    async def __anext__(self) -> bytes:
        while True:
            event = await self._call.__anext__()
            if isinstance(event, Media) and event.track == "inbound":
                return self._decoder.decode(event.payload)


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(trio.Cancelled)[1] is None
    return isinstance(exc, trio.Cancelled)


@asynccontextmanager
async def open_call(
    transport: MessageTransport,
    *,
    codec: ProviderCodec | None = None,
    config: CallConfig | None = None,
) -> AsyncIterator[Call]:
    """Run a call on ``transport`` for the duration of the ``async with`` block.

    Receives the provider's ``start`` (up to ``config.start_timeout``; otherwise the transport
    is closed with 1008 and :class:`CallClosed` raised) before entering the block, so metadata
    such as :attr:`Call.stream_id` is available at once. The call's tasks run in a nursery
    owned by the block. Leaving the block closes the call with 1000 (1011 if the block raised,
    1001 if it was cancelled); the block's own exception propagates as itself, not wrapped in
    an exception group.

    When the call ends remotely the block is *not* cancelled: the event iterator ends and
    further operations raise :class:`CallClosed`. (The server's handler wrapper adds a grace
    period and then cancels the handler.)
    """
    call = Call(
        transport,
        codec if codec is not None else PlivoCodec(),
        config if config is not None else CallConfig(),
    )
    await call._receive_start()
    body_error: Exception | None = None
    async with trio.open_nursery() as nursery:
        await nursery.start(call._run_tasks)
        try:
            yield call
        except Exception as exc:
            body_error = exc
            await call.aclose(1011, "internal error")
        except BaseException:
            await call.aclose(1001, "going away")
            raise
        else:
            await call.aclose(1000)
    if body_error is not None:
        raise body_error
