"""Provider detection: one stream endpoint for every provider.

:class:`DetectingCodec` starts undecided, looks at the first message and hands everything to
the codec of the provider that sent it. The first messages are distinctive:

============  ==============================================================================
Plivo         ``start`` with ``start.callId`` / ``start.streamId`` (nested, camelCase)
Twilio        ``start`` with ``streamSid`` (SignalWire is identical on the wire)
Exotel        ``start`` with ``stream_sid`` / ``start.call_sid`` (snake_case), or camelCase
              ``streamSid`` with an ``audio/x-raw`` media format
Telnyx        ``start`` with ``stream_id`` and ``start.call_control_id``
Vonage        ``websocket:connected``
KooKoo        anything with a ``ucid``
============  ==============================================================================

A ``connected`` greeting (Twilio, Exotel, Telnyx all send one, and they look alike) is
swallowed and the decision waits for the ``start`` after it. A first message that fits no
provider -- or fits one that is not enabled -- raises :class:`RemoteProtocolError` naming what
was seen, and the codec ends (``state`` is ``ENDED``) so the call can close the socket with
1008 instead of waiting for a ``start`` that will never be understood.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import orjson

from .._exceptions import ConfigurationError, LocalProtocolError, RemoteProtocolError
from .._format import AudioFormat
from ._codec import ProviderCodec, StreamState
from ._events import InboundEvent, OutboundCommand
from .exotel import ExotelCodec
from .kookoo import KooKooCodec
from .plivo import PlivoCodec
from .signalwire import SignalWireCodec
from .telnyx import TelnyxCodec
from .twilio import TwilioCodec
from .vonage import VonageCodec

__all__ = ["DETECTABLE", "DetectingCodec", "detect_provider", "detected_codec"]

CodecFactory = Callable[[], ProviderCodec]

#: Every provider detection can tell apart, with its default codec.
DETECTABLE: Final[Mapping[str, CodecFactory]] = {
    "plivo": PlivoCodec,
    "twilio": TwilioCodec,
    "signalwire": SignalWireCodec,
    "exotel": ExotelCodec,
    "telnyx": TelnyxCodec,
    "vonage": VonageCodec,
    "kookoo": KooKooCodec,
}
#: Greetings before ``start`` that are swallowed while undecided.
_MAX_GREETINGS: Final = 3


def detect_provider(message: Mapping[str, Any]) -> str | None:
    """The provider whose first message ``message`` is, ``"connected"`` for a greeting that
    does not tell, or ``None`` when it fits no provider. Pure."""
    event = message.get("event")
    if event == "websocket:connected":
        return "vonage"
    if "ucid" in message:
        return "kookoo"
    if event == "connected":
        return "connected"
    if event != "start":
        return None
    body = message.get("start")
    if not isinstance(body, Mapping):
        return None
    if "call_control_id" in body or "stream_id" in message:
        return "telnyx"
    if "stream_sid" in message or "stream_sid" in body or "call_sid" in body:
        return "exotel"
    if "streamSid" in message or "streamSid" in body:
        fmt = body.get("mediaFormat", body.get("media_format"))
        if isinstance(fmt, Mapping) and fmt.get("encoding") == "audio/x-raw":
            return "exotel"  # Exotel's own bridges spell it camelCase
        return "twilio"
    if "callId" in body or "streamId" in body:
        return "plivo"
    return None


def _describe(message: Mapping[str, Any]) -> str:
    keys = sorted(message)[:8]
    body = message.get("start")
    nested = f", start keys {sorted(body)[:8]}" if isinstance(body, Mapping) else ""
    return f"event={message.get('event')!r}, keys {keys}{nested}"


class DetectingCodec:
    """A codec that becomes whichever provider's codec the first message calls for.

    ``providers`` maps the enabled provider names to codec factories (default
    :data:`DETECTABLE`: all of them, default settings); pass a subset, or your own factories
    (``{"exotel": lambda: ExotelCodec(casing="camel"), ...}``). Twilio and SignalWire look the
    same: a Twilio-shaped stream goes to ``"twilio"`` if enabled, else ``"signalwire"``.
    """

    def __init__(self, providers: Mapping[str, CodecFactory] | None = None) -> None:
        self._factories = dict(DETECTABLE if providers is None else providers)
        unknown = set(self._factories) - set(DETECTABLE)
        if unknown:
            raise ConfigurationError(
                f"cannot detect {sorted(unknown)}; detectable: {sorted(DETECTABLE)}"
            )
        self._delegate: ProviderCodec | None = None
        self._failed = False
        self._greetings = 0
        # Until decided, the attributes the call reads describe a generic 20 ms stream.
        self.provider = "auto"
        self.frame_ms = 20
        self.acks_checkpoints_on_clear = False
        self.has_dtmf_events = True
        self.supports_dtmf_out = False
        self.supports_hangup = False
        self.supports_text_messages = False  # phone providers only: the browser is not detected

    def __repr__(self) -> str:
        return f"<DetectingCodec {self.provider} {self.state.value}>"

    @property
    def codec(self) -> ProviderCodec | None:
        """The detected provider's codec (``None`` until the first ``start``)."""
        return self._delegate

    @property
    def state(self) -> StreamState:
        if self._delegate is not None:
            return self._delegate.state
        return StreamState.ENDED if self._failed else StreamState.AWAITING_START

    @property
    def media_format(self) -> AudioFormat | None:
        return None if self._delegate is None else self._delegate.media_format

    @property
    def stream_id(self) -> str | None:
        return None if self._delegate is None else self._delegate.stream_id

    def receive(self, message: str | bytes) -> Sequence[InboundEvent]:
        """Detect on the first message, then delegate. Raises :class:`RemoteProtocolError`."""
        if self._delegate is not None:
            return self._delegate.receive(message)
        if self._failed:
            raise RemoteProtocolError("message after provider detection failed")
        try:
            name = self._detect(message)
        except RemoteProtocolError:
            self._failed = True
            raise
        if name is None:  # a greeting: wait for start
            return ()
        delegate = self._factories[name]()
        self._delegate = delegate
        self.provider = delegate.provider
        self.frame_ms = delegate.frame_ms
        self.acks_checkpoints_on_clear = delegate.acks_checkpoints_on_clear
        self.has_dtmf_events = delegate.has_dtmf_events
        self.supports_dtmf_out = delegate.supports_dtmf_out
        self.supports_hangup = delegate.supports_hangup
        return delegate.receive(message)

    def _detect(self, message: str | bytes) -> str | None:
        if not isinstance(message, str):
            raise RemoteProtocolError(
                f"binary frame of {len(message)} bytes before any provider was detected"
            )
        try:
            decoded = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            raise RemoteProtocolError(
                f"cannot detect the provider: first message is not JSON ({exc})"
            ) from None
        if not isinstance(decoded, dict):
            raise RemoteProtocolError(
                f"cannot detect the provider: first message is a JSON {type(decoded).__name__}"
            )
        name = detect_provider(decoded)
        if name == "connected":
            self._greetings += 1
            if self._greetings > _MAX_GREETINGS:
                raise RemoteProtocolError("cannot detect the provider: only 'connected' messages")
            return None
        if name == "twilio" and name not in self._factories and "signalwire" in self._factories:
            name = "signalwire"
        if name is None:
            raise RemoteProtocolError(
                f"cannot detect the provider from the first message ({_describe(decoded)})"
            )
        if name not in self._factories:
            raise RemoteProtocolError(
                f"first message looks like {name}, which is not enabled "
                f"(enabled: {', '.join(sorted(self._factories))})"
            )
        return name

    def send(self, command: OutboundCommand) -> str | bytes | None:
        if self._delegate is None:
            raise LocalProtocolError(
                f"cannot send {type(command).__name__} before the provider is known"
            )
        return self._delegate.send(command)

    def connection_closed(self) -> None:
        if self._delegate is not None:
            self._delegate.connection_closed()
        else:
            self._failed = True


def detected_codec(codec: ProviderCodec) -> ProviderCodec:
    """The codec that actually speaks the stream: a :class:`DetectingCodec`'s detected one once
    known (so fifty messages a second skip the delegation), else ``codec`` itself."""
    if isinstance(codec, DetectingCodec) and codec.codec is not None:
        return codec.codec
    return codec
