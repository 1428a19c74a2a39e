"""The provider seam: what the call layer needs from any provider's wire protocol.

A codec is sans-IO (no sockets, no clocks, no trio): it turns one WebSocket message into
events and one command into one message, and keeps the per-stream state machine::

    AWAITING_START --start--> STREAMING --stop / connection closed--> ENDED

Plivo's codec is the first implementation; Twilio, Exotel, Telnyx, Vonage and KooKoo codecs
are siblings behind the same interface, so the call layer never changes for them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol

from .._exceptions import LocalProtocolError
from .._format import AudioFormat
from ._events import InboundEvent, OutboundCommand

__all__ = ["CodecState", "ProviderCodec", "StreamState"]


class StreamState(enum.Enum):
    """Where a stream is in its life."""

    AWAITING_START = "awaiting start"
    STREAMING = "streaming"
    ENDED = "ended"


class CodecState:
    """The per-stream state every codec keeps, and the part of :class:`ProviderCodec` that
    reads it: subclass it and set ``_state``, ``_stream_id`` and ``_format`` as the stream
    starts and ends."""

    __slots__ = ("_format", "_state", "_stream_id")

    #: Phone streams carry no conversation text (see :attr:`ProviderCodec.supports_text_messages`).
    supports_text_messages = False

    def __init__(self) -> None:
        self._state = StreamState.AWAITING_START
        self._stream_id: str | None = None
        self._format: AudioFormat | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state.value} stream_id={self._stream_id!r}>"

    @property
    def state(self) -> StreamState:
        return self._state

    @property
    def stream_id(self) -> str | None:
        return self._stream_id

    @property
    def media_format(self) -> AudioFormat | None:
        """The negotiated audio format, once ``start`` has arrived."""
        return self._format

    def _check_sendable(self, command: object) -> None:
        """Commands go out only while the stream is streaming (LocalProtocolError otherwise)."""
        if self._state is not StreamState.STREAMING:
            raise LocalProtocolError(
                f"cannot send {type(command).__name__} while the stream is {self._state.value}"
            )

    def connection_closed(self) -> None:
        """The transport is gone: the stream has ended."""
        self._state = StreamState.ENDED


class ProviderCodec(Protocol):
    """One stream's wire protocol, for one provider.

    Implementations raise :class:`~trio_plivo.RemoteProtocolError` from :meth:`receive` for
    anything the provider should not have sent (and stay usable: one malformed frame is not
    the end of a call), and :class:`~trio_plivo.LocalProtocolError` from :meth:`send` when the
    application asks for something the protocol forbids in the current state.
    """

    #: Short provider name (``"plivo"``, ``"twilio"`` ...).
    provider: str
    #: Outbound audio is cut into frames of this many milliseconds.
    frame_ms: int
    #: True when the provider acknowledges pending checkpoints when audio is cleared
    #: (Twilio echoes marks); False when it never acknowledges them (Plivo).
    acks_checkpoints_on_clear: bool
    #: The provider reports key presses as events; when False the call detects DTMF in the
    #: inbound audio itself (Goertzel).
    has_dtmf_events: bool
    #: The provider plays DTMF on request (``SendDtmf``); when False the call plays in-band
    #: tones through the playback queue instead.
    supports_dtmf_out: bool
    #: The provider has an in-stream hang-up message (``Hangup``); when False the call hangs
    #: up through the provider's REST API (if configured) or by closing the stream.
    supports_hangup: bool
    #: The client shows the conversation as text (:class:`~trio_plivo.protocol.ConversationText`:
    #: the browser page); when False the call drops such lines (phone providers have no screen).
    supports_text_messages: bool

    @property
    def state(self) -> StreamState: ...

    @property
    def media_format(self) -> AudioFormat | None:
        """The negotiated audio format, once ``start`` has arrived."""
        ...

    @property
    def stream_id(self) -> str | None: ...

    def receive(self, message: str | bytes) -> Sequence[InboundEvent]:
        """Parse one WebSocket message into zero or more events."""
        ...

    def send(self, command: OutboundCommand) -> str | bytes | None:
        """Encode one command as one WebSocket message (``None``: nothing goes on the wire,
        e.g. a checkpoint a codec tracks itself from per-packet acknowledgements)."""
        ...

    def connection_closed(self) -> None:
        """Tell the state machine the transport is gone (the stream has ended)."""
        ...
