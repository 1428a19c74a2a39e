"""The call's reader: the only task that receives from the transport.

It parses each message with the provider codec and pushes the events into the
:class:`~._inbound.InboundQueue` without ever waiting on the application (a slow app loses
its *oldest* audio, never a control event, and never stalls the socket: providers punish
slow readers). Acknowledgements go to the mark tracker; a ``stop`` ends the call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Final

import trio

from .._exceptions import ConnectionClosed, RemoteProtocolError
from ..protocol import Dtmf, Media, PlayedStream, ProviderCodec, Start, Stop, UnknownEvent
from ..protocol._detect import detected_codec
from ..transport import Message, MessageTransport
from ._inbound import InboundQueue
from ._marks import MarkTracker
from ._taps import Taps

__all__ = ["Reader"]

logger = logging.getLogger("trio_plivo.call")

#: Log the first few malformed messages of a call, then one in this many.
_LOG_EVERY: Final = 100

#: Called with the close code and reason when the stream ends on the reader's side.
Finish = Callable[[int | None, str], None]


class Reader:
    """Receives, parses and routes one call's inbound messages."""

    def __init__(
        self,
        transport: MessageTransport,
        codec: ProviderCodec,
        inbound: InboundQueue,
        tracker: MarkTracker,
        taps: Taps,
        *,
        inbound_buffer_ms: float,
        on_start: Callable[[Start], None],
        finish: Finish,
    ) -> None:
        self._transport = transport
        self._codec = codec
        self._inbound = inbound
        self._tracker = tracker
        self._taps = taps
        self._inbound_buffer_ms = inbound_buffer_ms
        self._on_start = on_start
        self._finish = finish
        self.start: Start | None = None
        #: Set when the call ends: the loop stops at its next message.
        self.stopped = False
        self.frames_received = 0
        self.malformed = 0
        self.unknown = 0

    def inbound_frames(self) -> int:
        """``inbound_buffer_ms`` in the provider's frames (Exotel: 100 ms, KooKoo: 10 ms)."""
        return max(1, math.ceil(self._inbound_buffer_ms / self._codec.frame_ms))

    async def run(self) -> None:
        receive = self._transport.receive_message
        handle = self.handle
        try:
            while not self.stopped:
                handle(await receive())
        except ConnectionClosed as exc:
            self._finish(exc.code, exc.reason)

    def handle(self, message: Message) -> None:
        try:
            events = self._codec.receive(message)
        except RemoteProtocolError as exc:
            self.malformed += 1
            if self.malformed <= 3 or self.malformed % _LOG_EVERY == 0:
                logger.warning(
                    "call %s: skipped malformed message #%d: %s",
                    self.start.call_id if self.start else None,
                    self.malformed,
                    exc,
                )
            return
        inbound = self._inbound
        taps = self._taps
        for event in events:
            kind = type(event)
            if kind is Media:
                self.frames_received += 1
                if taps.dtmf_detector is not None and isinstance(event, Media):
                    for digit in taps.detect_dtmf(event):
                        inbound.push(Dtmf(digit=digit, track="inbound", stream_id=self._stream_id))
                if (
                    taps.recorder is not None
                    and isinstance(event, Media)
                    and event.track == "inbound"
                ):
                    taps.record(0, event.payload, trio.current_time())
            elif isinstance(event, PlayedStream):
                self._tracker.acked(event.name)
            elif isinstance(event, Start):
                self.start = event
                # A detecting codec knows the provider's frame size only now.
                inbound.max_media = self.inbound_frames()
                self._codec = detected_codec(self._codec)
                self._on_start(event)
            elif kind is UnknownEvent:
                self.unknown += 1
            if taps.event_log is not None:
                taps.log_inbound(event)
            inbound.push(event)
            if kind is Stop:
                # The provider is done; the socket close that follows is a formality.
                logger.debug("call %s: stop from the provider", self.start and self.start.call_id)
                self._finish(1000, "stream stopped by the provider")
                return

    @property
    def _stream_id(self) -> str | None:
        return self.start.stream_id if self.start else None
