"""The browser conversation protocol, sans-IO: a browser tab as one more provider.

The page that :mod:`trio_plivo.web` serves at ``/talk`` opens a WebSocket to ``/talk/ws``
and speaks this protocol (micdrop's command names, camelCase). Binary frames are audio,
text frames are JSON control messages ``{"type": ...}``, so audio and commands can never
be confused (no size heuristic).

Client -> server::

    {"type":"start","sampleRate":16000,"metadata":{...}}
                      -> Start (first message; rate 8000/16000/24000/48000, default 16000;
                         metadata -> Start.extra_headers)
    binary frame      -> Media (PCM16 mono little-endian at the announced rate)
    startSpeaking     -> SpeechStarted    (a hint from the client's own voice detector)
    stopSpeaking      -> SpeechStopped
    mute / unmute     -> MuteStream / UnmuteStream
    dtmf {"keys":"12#"} (or "digit")  -> one Dtmf per key
    mark {"name":...} -> PlayedStream (the client's player has played up to that mark)
    cleared           -> ClearedAudio (the client emptied its player after a clear)
    hangup / endCall / endInterview   -> Stop (endInterview is micdrop's older name)
    any other type    -> UnknownEvent

Server -> client::

    PlayAudio         -> binary frame (PCM16 at the client's rate)
    Checkpoint        -> {"type":"mark","name":...}
    ClearAudio        -> {"type":"clear"}
    ConversationText  -> {"type":"userMessage"|"assistantMessage"|"cancelLastAssistantMessage",
                          "text":...}
    Hangup            -> {"type":"endCall"}
    SendDtmf          -> LocalProtocolError (the call plays in-band tones instead)

Type names are matched case-insensitively (micdrop's own client spells some PascalCase).
Errors end the socket with a close code in the 4xxx range and a reason
(:class:`BrowserCloseCode`): a bad ``start`` is 4400; 4401 and 4404 are for applications
that refuse a conversation after reading its metadata (``await call.aclose(4404, "...")``).
A malformed frame *after* a good start is a :class:`~trio_plivo.RemoteProtocolError` the call
counts and skips, as for every provider.

This codec is never auto-detected from a phone stream and is not in
:data:`~trio_plivo.protocol.PROVIDERS`: the ``/talk/ws`` path selects it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import orjson

from .._exceptions import LocalProtocolError, RemoteProtocolError
from .._format import AudioFormat, Encoding
from ._codec import CodecState, StreamState
from ._events import (
    Checkpoint,
    ClearAudio,
    ClearedAudio,
    ConversationText,
    Dtmf,
    Hangup,
    InboundEvent,
    Media,
    MuteStream,
    OutboundCommand,
    PlayAudio,
    PlayedStream,
    SendDtmf,
    SpeechStarted,
    SpeechStopped,
    Start,
    Stop,
    UnknownEvent,
    UnmuteStream,
)
from ._fields import decode_json_object, dumps, need_str

__all__ = [
    "BROWSER_SAMPLE_RATES",
    "BrowserCloseCode",
    "BrowserCodec",
    "BrowserStart",
    "parse_browser_start",
]

#: The rates a client may announce (Hz).
BROWSER_SAMPLE_RATES: Final = (8000, 16000, 24000, 48000)
DEFAULT_SAMPLE_RATE: Final = 16000
_DTMF_KEYS: Final = frozenset("0123456789ABCD*#")
_CLEAR: Final = dumps({"type": "clear"})
_END_CALL: Final = dumps({"type": "endCall"})
_HANGUP_TYPES: Final = frozenset({"hangup", "endcall", "endinterview"})


class BrowserCloseCode(enum.IntEnum):
    """WebSocket close codes that end a browser conversation with an error (with a reason)."""

    #: The client sent something that cannot start a conversation (bad or missing ``start``).
    BAD_REQUEST = 4400
    #: The application refuses this client (e.g. its metadata names no known user).
    UNAUTHORIZED = 4401
    #: The application has nothing to talk to (e.g. its metadata names an unknown agent).
    NOT_FOUND = 4404


@attrs.frozen(kw_only=True)
class BrowserStart:
    """A parsed ``start`` message."""

    media_format: AudioFormat
    metadata: Mapping[str, str]


def _metadata_value(value: object) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def parse_browser_start(message: str | bytes) -> BrowserStart:
    """Parse the client's first message. Pure.

    Raises :class:`~trio_plivo.RemoteProtocolError` (``event_hint="start"``) naming what is
    wrong; a server answers it with close code :attr:`BrowserCloseCode.BAD_REQUEST`.
    """
    if not isinstance(message, str):
        raise RemoteProtocolError(
            f"binary frame of {len(message)} bytes before start", event_hint="start"
        )
    msg = decode_json_object(message, "browser")
    kind = msg.get("type")
    if not isinstance(kind, str) or kind.lower() != "start":
        raise RemoteProtocolError(
            f"first message must be a start, got type {kind!r}", event_hint="start"
        )
    rate: object = msg.get("sampleRate", DEFAULT_SAMPLE_RATE)
    if isinstance(rate, float) and rate.is_integer():
        rate = int(rate)
    if type(rate) is not int or rate not in BROWSER_SAMPLE_RATES:
        rates = ", ".join(map(str, BROWSER_SAMPLE_RATES))
        raise RemoteProtocolError(
            f"start: sampleRate {rate!r} is not one of {rates}", event_hint="start"
        )
    metadata = msg.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise RemoteProtocolError("start: metadata must be an object", event_hint="start")
    return BrowserStart(
        media_format=AudioFormat(encoding=Encoding.L16, sample_rate=rate),
        metadata={str(k): _metadata_value(v) for k, v in metadata.items()},
    )


class BrowserCodec(CodecState):
    """One browser conversation: binary PCM16 audio plus JSON control messages."""

    provider = "browser"
    frame_ms = 20
    acks_checkpoints_on_clear = False  # the page drops the marks a clear made moot
    has_dtmf_events = True
    supports_dtmf_out = False
    supports_hangup = True
    supports_text_messages = True

    __slots__ = ("_chunk",)

    def __init__(self) -> None:
        super().__init__()
        self._chunk = 0

    # --- receiving ------------------------------------------------------------------------

    def receive(self, message: str | bytes) -> Sequence[InboundEvent]:
        """Parse one WebSocket message. Raises :class:`RemoteProtocolError` naming the problem
        (a bad first message also ends the stream: no conversation can start after it)."""
        state = self._state
        if state is StreamState.AWAITING_START:
            return (self._on_start(message),)
        if not isinstance(message, str):
            # The hot path: fifty binary audio frames a second.
            if state is not StreamState.STREAMING:
                raise RemoteProtocolError("binary audio after the stream ended", event_hint="media")
            if not message or len(message) % 2:
                raise RemoteProtocolError(
                    f"binary frame of {len(message)} bytes is not whole PCM16 samples",
                    event_hint="media",
                )
            self._chunk += 1
            return (Media(payload=bytes(message), chunk=self._chunk, stream_id=self._stream_id),)
        msg = decode_json_object(message, self.provider)
        name = msg.get("type")
        if not isinstance(name, str) or not name:
            raise RemoteProtocolError("message has no 'type' string")
        if state is StreamState.ENDED:
            raise RemoteProtocolError(f"{name} after the stream ended", event_hint=name)
        return self._on_control(name, msg)

    def _on_start(self, message: str | bytes) -> Start:
        try:
            start = parse_browser_start(message)
        except RemoteProtocolError:
            self._state = StreamState.ENDED
            raise
        stream_id = str(uuid.uuid4())
        self._state = StreamState.STREAMING
        self._stream_id = stream_id
        self._format = start.media_format
        return Start(
            call_id=stream_id,
            stream_id=stream_id,
            media_format=start.media_format,
            extra_headers=start.metadata,
        )

    def _on_control(self, name: str, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        sid = self._stream_id
        key = name.lower()
        if key == "mark":
            return (PlayedStream(name=need_str(msg.get("name"), "name", name), stream_id=sid),)
        if key == "startspeaking":
            return (SpeechStarted(stream_id=sid),)
        if key == "stopspeaking":
            return (SpeechStopped(stream_id=sid),)
        if key == "mute":
            return (MuteStream(stream_id=sid),)
        if key == "unmute":
            return (UnmuteStream(stream_id=sid),)
        if key == "dtmf":
            keys = need_str(msg.get("keys", msg.get("digit")), "keys", name).upper()
            if any(k not in _DTMF_KEYS for k in keys):
                raise RemoteProtocolError(
                    f"dtmf: keys {keys!r} are not 0-9 A-D * #", event_hint=name
                )
            return tuple(Dtmf(digit=k, stream_id=sid) for k in keys)
        if key == "cleared":
            return (ClearedAudio(stream_id=sid),)
        if key in _HANGUP_TYPES:
            self._state = StreamState.ENDED
            return (Stop(reason=f"{name} from the browser", stream_id=sid),)
        if key == "start":
            raise RemoteProtocolError("second start", event_hint=name)
        return (UnknownEvent(event=name, raw=msg, stream_id=sid),)

    # --- sending --------------------------------------------------------------------------

    def send(self, command: OutboundCommand) -> str | bytes | None:
        """Encode ``command``: audio as one binary frame, the rest as JSON text."""
        self._check_sendable(command)
        kind = type(command)
        if kind is PlayAudio:
            assert isinstance(command, PlayAudio)
            if command.audio_format is not None and command.audio_format != self._format:
                raise LocalProtocolError(
                    f"audio in {command.audio_format} on a {self._format} stream: convert it first"
                )
            payload = command.payload
            if not payload or len(payload) % 2:
                raise LocalProtocolError(
                    f"audio of {len(payload)} bytes is not whole PCM16 samples"
                )
            return payload
        if isinstance(command, Checkpoint):
            if not command.name:
                raise LocalProtocolError("a checkpoint needs a non-empty name")
            return dumps({"type": "mark", "name": command.name})
        if isinstance(command, ConversationText):
            return dumps({"type": command.kind, "text": command.text})
        if kind is ClearAudio:
            return _CLEAR
        if kind is Hangup:
            return _END_CALL
        if kind is SendDtmf:
            raise LocalProtocolError("the browser plays no DTMF command: play in-band tones")
        raise LocalProtocolError(f"not a command: {command!r}")
