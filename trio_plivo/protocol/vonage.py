"""Vonage Voice API WebSocket, sans-IO (``../shared/protocols.md`` §6).

Unlike every other provider, audio travels as **binary frames** of raw PCM16 little-endian
(20 ms: 320/640/960 bytes at 8/16/24 kHz), both ways; JSON text frames carry the rest::

    {"event":"websocket:connected","content-type":"audio/l16;rate=16000", <headers>...}
                                       -> Start (synthesised: Vonage has no start message)
    binary frame                       -> Media (chunk numbered by the codec)
    {"event":"websocket:dtmf", ...}    -> Dtmf (``digit`` flat or nested under ``dtmf``)
    {"event":"websocket:notify", "payload":{"name":...}}  -> PlayedStream
    {"event":"websocket:cleared"}      -> ClearedAudio
    {"event":"websocket:hangup"}       -> Stop (seen in a third-party adapter; UNCONFIRMED)

    PlayAudio  -> the payload itself as a binary frame
    Checkpoint -> {"action":"notify","payload":{"name": name}}
    ClearAudio -> {"action":"clear"}

The headers you put on the NCCO ``websocket`` endpoint arrive flattened into the connected
message; they become :attr:`Start.extra_headers`. The call id comes from a ``uuid``/
``call_uuid``/``callUuid``/``conversation_uuid`` header when present (put ``"uuid"`` in your
NCCO headers to get the real one), else a generated id. Hang-up is not in-stream (the Voice
API's ``PUT /v1/calls/{uuid}`` needs a JWT: UNCONFIRMED), and DTMF out is in-band.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from .._exceptions import ConfigurationError, LocalProtocolError, RemoteProtocolError
from .._format import AudioFormat, Encoding
from ._codec import CodecState, StreamState
from ._events import (
    Checkpoint,
    ClearAudio,
    ClearedAudio,
    Dtmf,
    Hangup,
    InboundEvent,
    Media,
    OutboundCommand,
    PlayAudio,
    PlayedStream,
    SendDtmf,
    Start,
    Stop,
    UnknownEvent,
)
from ._fields import decode_json_object, dumps, need_str

__all__ = ["VonageCodec"]

#: Header names that may carry the call's id, most specific first.
CALL_ID_HEADERS: Final = ("uuid", "call_uuid", "callUuid", "conversation_uuid")
_NOT_HEADERS: Final = frozenset({"event", "content-type", "content_type"})
_CLEAR: Final = dumps({"action": "clear"})


def _header_value(value: object) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


class VonageCodec(CodecState):
    """One Vonage WebSocket call leg: binary L16 audio plus JSON control messages.

    ``default_content_type`` is used when the connected message names no content type.
    """

    provider = "vonage"
    frame_ms = 20
    acks_checkpoints_on_clear = False
    has_dtmf_events = True
    supports_dtmf_out = False
    supports_hangup = False

    __slots__ = ("_chunk", "_default")

    def __init__(self, *, default_content_type: str = "audio/l16;rate=16000") -> None:
        super().__init__()
        self._default = self._content_type(default_content_type, ConfigurationError)
        self._chunk = 0

    @staticmethod
    def _content_type(text: object, error: type[Exception]) -> AudioFormat:
        if not isinstance(text, str):
            raise error("websocket:connected: content-type must be a string")
        try:
            fmt = AudioFormat.from_content_type(text)
        except (ConfigurationError, ValueError) as exc:
            raise error(f"websocket:connected: bad content-type {text!r}: {exc}") from None
        if fmt.encoding is not Encoding.L16:
            raise error(f"websocket:connected: Vonage streams L16, not content-type {text!r}")
        return fmt

    # --- receiving ------------------------------------------------------------------------

    def receive(self, message: str | bytes) -> Sequence[InboundEvent]:
        """Parse one WebSocket message. Raises :class:`RemoteProtocolError` naming the problem."""
        if not isinstance(message, str):
            # The hot path: a binary audio frame.
            if self._state is not StreamState.STREAMING:
                raise RemoteProtocolError(
                    f"binary audio while {self._state.value}", event_hint="media"
                )
            fmt = self._format
            assert fmt is not None
            if not message or len(message) % fmt.bytes_per_sample:
                raise RemoteProtocolError(
                    f"binary frame of {len(message)} bytes is not whole {fmt} samples",
                    event_hint="media",
                )
            self._chunk += 1
            return (Media(payload=bytes(message), chunk=self._chunk, stream_id=self._stream_id),)
        msg = decode_json_object(message, self.provider)
        name = msg.get("event")
        if not isinstance(name, str):
            raise RemoteProtocolError("message has no 'event' string")
        if name == "websocket:connected":
            return (self._on_connected(msg),)
        if self._state is StreamState.AWAITING_START:
            raise RemoteProtocolError(f"{name} before websocket:connected", event_hint=name)
        if self._state is StreamState.ENDED:
            raise RemoteProtocolError(f"{name} after the stream ended", event_hint=name)
        sid = self._stream_id
        if name == "websocket:dtmf":
            body = msg.get("dtmf")
            if body is None:
                body = msg
            elif not isinstance(body, Mapping):
                raise RemoteProtocolError("websocket:dtmf: 'dtmf' must be an object")
            return (Dtmf(digit=need_str(body.get("digit"), "digit", name), stream_id=sid),)
        if name == "websocket:notify":
            payload = msg.get("payload")
            if not isinstance(payload, Mapping) or not isinstance(payload.get("name"), str):
                # Not one of ours (our notifies always carry a name): pass it on.
                return (UnknownEvent(event=name, raw=msg, stream_id=sid),)
            return (PlayedStream(name=payload["name"], stream_id=sid),)
        if name == "websocket:cleared":
            return (ClearedAudio(stream_id=sid),)
        if name == "websocket:hangup":
            self._state = StreamState.ENDED
            return (Stop(reason=str(msg.get("reason") or "hangup"), stream_id=sid),)
        return (UnknownEvent(event=name, raw=msg, stream_id=sid),)

    def _on_connected(self, msg: dict[str, Any]) -> Start:
        if self._state is not StreamState.AWAITING_START:
            raise RemoteProtocolError(
                f"second websocket:connected while {self._state.value}",
                event_hint="websocket:connected",
            )
        content_type = msg.get("content-type", msg.get("content_type"))
        fmt = (
            self._default
            if content_type is None
            else self._content_type(content_type, RemoteProtocolError)
        )
        headers = {k: _header_value(v) for k, v in msg.items() if k not in _NOT_HEADERS}
        call_id = next((headers[k] for k in CALL_ID_HEADERS if headers.get(k)), None)
        stream_id = str(uuid.uuid4())
        self._state = StreamState.STREAMING
        self._stream_id = stream_id
        self._format = fmt
        return Start(
            call_id=call_id or stream_id,
            stream_id=stream_id,
            media_format=fmt,
            extra_headers=headers,
        )

    # --- sending --------------------------------------------------------------------------

    def send(self, command: OutboundCommand) -> str | bytes | None:
        """Encode ``command``: audio as one binary frame, the rest as JSON text."""
        self._check_sendable(command)
        if type(command) is PlayAudio:
            fmt = self._format
            if command.audio_format is not None and command.audio_format != fmt:
                raise LocalProtocolError(
                    f"audio in {command.audio_format} on a {fmt} stream: convert it first"
                )
            payload = command.payload
            if not payload or len(payload) % 2:
                raise LocalProtocolError(
                    f"audio of {len(payload)} bytes is not whole PCM16 samples"
                )
            return payload
        if type(command) is Checkpoint:
            if not command.name:
                raise LocalProtocolError("a checkpoint needs a non-empty name")
            return dumps({"action": "notify", "payload": {"name": command.name}})
        if type(command) is ClearAudio:
            return _CLEAR
        if type(command) is SendDtmf:
            raise LocalProtocolError("Vonage streams cannot send DTMF: play in-band tones")
        if type(command) is Hangup:
            raise LocalProtocolError("Vonage streams have no hang-up message")
        raise LocalProtocolError(f"not a command: {command!r}")
