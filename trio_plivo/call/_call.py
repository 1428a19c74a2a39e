"""``Call``: the application's facade over one stream's tasks (see :mod:`trio_plivo.call`).

The reader (:mod:`._reader`), the sender (:mod:`._playback`) and the mark tracker
(:mod:`._marks`) run in the call's nursery (:mod:`._lifetime`); the application talks to the
call from its own task(s): ``async for event in call``, ``play``, ``mark``, ``clear``,
``send_dtmf``, ``hangup``, ``aclose``. When the call ends -- remote close, ``stop``, our close,
an error -- the tasks are cancelled, the event iterator ends, every pending mark resolves
(``CALL_ENDED``) and further operations raise :class:`~trio_plivo.CallClosed`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterable, AsyncIterator, Coroutine, Mapping
from contextlib import suppress
from typing import Any

import trio

from .._exceptions import CallClosed, ConnectionClosed, LocalProtocolError, TrioPlivoError
from .._format import AudioFormat
from ..audio import DTMF_DIGITS, WireDecoder, WireEncoder, dtmf_tones
from ..protocol import (
    ClearAudio,
    ConversationKind,
    ConversationText,
    Hangup,
    InboundEvent,
    ProviderCodec,
    SendDtmf,
    Start,
)
from ..transport import MessageTransport
from ._audio_source import AudioSource, to_wire_format
from ._caller_audio import CallerAudioIterator
from ._config import CallConfig
from ._inbound import InboundQueue
from ._marks import Mark, MarkResult, MarkTracker
from ._playback import Playback
from ._reader import Reader
from ._stats import CallStatistics
from ._taps import Taps

__all__ = ["Call"]

logger = logging.getLogger("trio_plivo.call")


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
        self._ended = trio.Event()
        self._closing = False
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._tracker = MarkTracker()
        self._mark_names = itertools.count(1)
        self._mark_names_in_use: set[str] = set()
        self._taps = Taps(config)
        self._inbound = InboundQueue(max_media=1)
        self._reader = Reader(
            transport,
            codec,
            self._inbound,
            self._tracker,
            self._taps,
            inbound_buffer_ms=config.inbound_buffer_ms,
            on_start=self._started,
            finish=self._finish,
        )
        self._inbound.max_media = self._reader.inbound_frames()
        self._playback = Playback(
            transport,
            codec,
            config,
            self._taps,
            finish=self._finish,
            closed_error=self._closed_error,
        )

    def _started(self, start: Start) -> None:
        self._playback.configure(start.media_format)
        self._taps.open(start, detect_dtmf=not self._codec.has_dtmf_events, at=trio.current_time())

    @property
    def _start(self) -> Start | None:
        start: Start | None = self._reader.start
        return start

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
        """Per-call parameters, any provider: extra headers, or Twilio-style custom parameters."""
        start = self._start
        return {**start.custom_parameters, **start.extra_headers} if start else {}

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

    def __anext__(self) -> Coroutine[Any, Any, InboundEvent]:
        # The queue's own coroutine, ending with StopAsyncIteration: no wrapper frame to
        # resume per event.
        return self._inbound.get(StopAsyncIteration)

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
        playback = self._playback
        generation = playback.generation
        if sample_rate is None and type(audio) is bytes and audio[:4] != b"RIFF":
            await playback.enqueue_wire(audio, generation)  # the hot path: wire-format frames
            return
        fmt = self.media_format
        if isinstance(audio, AsyncIterable):
            encoder = WireEncoder(sample_rate, fmt) if sample_rate is not None else None
            await playback.enqueue_stream(audio, encoder, generation)
            return
        await playback.enqueue_wire(to_wire_format(audio, fmt, sample_rate), generation)

    def pcm_decoder(self, sample_rate: int = 16000) -> WireDecoder:
        """A decoder from this call's wire format to PCM16 at ``sample_rate`` (stateful: feed
        it every inbound frame in order, e.g. ``decoder.decode(event.payload)``)."""
        return WireDecoder(self.media_format, sample_rate)

    def caller_audio(self, sample_rate: int = 16000) -> AsyncIterator[bytes]:
        """Iterate the caller's audio as PCM16 at ``sample_rate`` (e.g. 16 kHz for speech
        recognition), each inbound frame decoded once. Consumes the call's events: use it when
        audio is all you want; otherwise iterate the call and use :meth:`pcm_decoder`."""
        return CallerAudioIterator(self, self.pcm_decoder(sample_rate))

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
        mark = Mark(name=name, queued_ms=self._playback.queued_since_mark_ms)
        self._mark_names_in_use.add(name)
        self._tracker.register(mark)
        assert self._tasks is not None
        self._tasks.start_soon(self._forget_name_when_done, mark)
        await self._playback.queue_mark(mark)
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
        in_progress = self._playback.clear(now)
        self._tracker.clear(now, in_progress)
        self._taps.log("clearAudio", {})
        self._playback.send_urgent(self._codec.send(ClearAudio()))
        await trio.lowlevel.checkpoint()

    async def send_dtmf(self, digits: str) -> None:
        """Play DTMF ``digits`` into the call.

        Where the provider has a DTMF command (Plivo's ``sendDTMF``) it goes out at once,
        ahead of queued audio; otherwise in-band tones are queued like any other audio.
        """
        self._check_open()
        self._taps.log("sendDTMF", {"digits": digits})
        if self._codec.supports_dtmf_out:
            self._playback.send_urgent(self._codec.send(SendDtmf(digits=digits)))
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
            self._playback.send_urgent(self._codec.send(Hangup()), done)
            with trio.move_on_after(timeout):
                await done.wait()
        elif self._config.hangup_client is not None and self.call_id:
            with trio.move_on_after(timeout) as scope:
                scope.shield = True
                try:
                    await self._config.hangup_client.hangup_call(self.call_id)
                except TrioPlivoError as exc:
                    logger.warning("call %s: REST hang-up failed: %s", self.call_id, exc)
        self._taps.log("hangup", {})
        await self.aclose(1000, "hung up")

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
        self._reader.stopped = self._playback.stopped = True
        self._codec.connection_closed()
        self._inbound.close()
        self._tracker.close_all()
        self._playback.close()
        self._taps.log("closed", {"code": code, "reason": reason})
        self._taps.close()
        self._ended.set()
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()

    def _check_open(self) -> None:
        if self._closing:
            raise self._closed_error()

    def _closed_error(self) -> CallClosed:
        return CallClosed(self.close_reason or "call closed", code=self.close_code)

    # --- statistics -----------------------------------------------------------------------

    def statistics(self) -> CallStatistics:
        """A snapshot of this call's counters."""
        reader, playback = self._reader, self._playback
        fmt = self._start.media_format if self._start else None
        queued_ms = fmt.duration_ms(playback.unsent_bytes) if fmt else 0.0
        return CallStatistics(
            frames_received=reader.frames_received,
            frames_dropped=self._inbound.dropped,
            frames_sent=playback.frames_sent,
            late_frames=playback.late_frames,
            malformed_messages=reader.malformed,
            unknown_events=reader.unknown,
            lead_ms=playback.lead_ms(trio.current_time()),
            queued_ms=queued_ms,
            pending_marks=self._tracker.pending,
            stale_acks=self._tracker.stale_acks,
        )

    # --- background tasks -----------------------------------------------------------------

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
        self._taps.log(kind, {"text": text})
        self._playback.send_urgent(self._codec.send(command))
        await trio.lowlevel.checkpoint()
        return True
