"""Twilio Media Streams, sans-IO (``../shared/protocols.md`` §2), and the shared machinery of
every *Twilio-shaped* protocol: SignalWire (§3), Exotel (§4) and Telnyx (§5) speak the same
message set (``connected``/``start``/``media``/``dtmf``/``mark``/``stop`` in; ``media``/
``mark``/``clear`` out) with different key spellings, so they subclass
:class:`TwilioShapedCodec` and only say how their keys are spelled and their ``start`` reads.

Mapping onto the event model::

    connected        -> nothing (a greeting before start)
    start            -> Start (customParameters -> Start.custom_parameters)
    media            -> Media (hand-written fast path: ~50 messages a second per call)
    dtmf             -> Dtmf
    mark             -> PlayedStream (the echo of our mark)
    stop             -> Stop
    anything else    -> UnknownEvent

    PlayAudio  -> {"event":"media", <stream>, "media":{"payload": base64}}
    Checkpoint -> {"event":"mark",  <stream>, "mark":{"name": name}}
    ClearAudio -> {"event":"clear", <stream>}
    SendDtmf, Hangup -> LocalProtocolError (no such messages: the call plays in-band tones,
                        and hangs up over the provider's REST API)

Twilio echoes *every pending mark* when audio is cleared. The call resolves pending marks as
cleared itself and counts later acknowledgements as stale, so the echoes are harmless -- except
when an application reuses a mark name right after a clear: then the echo of the old mark would
look like the new one playing. The codec remembers which marks a clear made moot and swallows
the echo in exactly that ambiguous case.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

from .._exceptions import LocalProtocolError, RemoteProtocolError
from .._format import MULAW_8K, AudioFormat
from ._codec import CodecState, StreamState
from ._converter import optional_lenient_int
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
    StreamError,
    UnknownEvent,
)
from ._fields import (
    decode_json_object,
    dumps,
    first,
    need_object,
    need_str,
    opt_int,
    opt_str,
    parse_media_format,
    string_map,
    track_name,
)

__all__ = ["TwilioCodec", "TwilioShapedCodec", "parse_media_format"]

#: Marks sent and not yet echoed that we remember (a unidirectional peer never echoes).
_MAX_TRACKED_MARKS: Final = 1024
_NO_EVENTS: Final[tuple[InboundEvent, ...]] = ()


class TwilioShapedCodec(CodecState):
    """The state machine and wire format shared by Twilio-shaped protocols.

    Subclasses set the key spellings (class attributes) and implement :meth:`_parse_start`;
    everything else -- state checks, the media fast path, marks and clears -- is here.
    """

    provider: str = "twilio"
    frame_ms: int = 20
    acks_checkpoints_on_clear: bool = True
    has_dtmf_events: bool = True
    supports_dtmf_out: bool = False
    supports_hangup: bool = False

    #: Keys that may carry the stream id on inbound messages, most likely first.
    STREAM_KEYS: ClassVar[tuple[str, ...]] = ("streamSid",)
    #: Keys of the per-stream message counter.
    SEQUENCE_KEYS: ClassVar[tuple[str, ...]] = ("sequenceNumber",)
    #: The stream id key written on outbound messages (``None``: outbound has no stream id).
    OUT_STREAM_KEY: ClassVar[str | None] = "streamSid"
    #: Format assumed when ``start`` announces none.
    DEFAULT_FORMAT: ClassVar[AudioFormat] = MULAW_8K

    def __init__(self) -> None:
        super().__init__()
        self._out_stream_key = self.OUT_STREAM_KEY
        self._default_format = self.DEFAULT_FORMAT
        # Mark names sent and not yet echoed (insertion-ordered), and names a clear made moot.
        self._sent_marks: dict[str, None] = {}
        self._cleared_marks: set[str] = set()
        self._handlers: dict[str, Callable[[str, dict[str, Any]], Sequence[InboundEvent]]] = {
            "connected": self._on_connected,
            "start": self._on_start,
            "dtmf": self._on_dtmf,
            "mark": self._on_mark,
            "stop": self._on_stop,
            "clear": self._on_cleared,
            "error": self._on_error,
        }

    # --- receiving ------------------------------------------------------------------------

    def receive(self, message: str | bytes) -> Sequence[InboundEvent]:
        """Parse one WebSocket message. Raises :class:`RemoteProtocolError` naming the problem."""
        decoded = decode_json_object(message, self.provider)
        name = decoded.get("event")
        if name == "media":
            return self._on_media(decoded)
        if not isinstance(name, str):
            raise RemoteProtocolError("message has no 'event' string")
        handler = self._handlers.get(name)
        if handler is None:
            self._check_streaming(name, decoded)
            sid = first(decoded, self.STREAM_KEYS)
            return (
                UnknownEvent(event=name, raw=decoded, stream_id=sid if type(sid) is str else None),
            )
        return handler(name, decoded)

    def _sequence(self, msg: Mapping[str, Any], event: str) -> int | None:
        return opt_int(first(msg, self.SEQUENCE_KEYS), "sequence number", event)

    def _check_streaming(self, name: str, msg: Mapping[str, Any]) -> str | None:
        """Refuse anything but ``start`` outside STREAMING and anything for another stream;
        returns the message's stream id (if it has one)."""
        if self._state is StreamState.AWAITING_START:
            raise RemoteProtocolError(f"{name} before start", event_hint=name)
        if self._state is StreamState.ENDED:
            raise RemoteProtocolError(f"{name} after the stream ended", event_hint=name)
        sid = first(msg, self.STREAM_KEYS)
        if sid is not None and sid != self._stream_id:
            raise RemoteProtocolError(f"{name} for another stream ({sid!r})", event_hint=name)
        return sid  # type: ignore[no-any-return]

    def _on_connected(self, name: str, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        return _NO_EVENTS  # a greeting carrying nothing the call needs

    def _on_start(self, name: str, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        if self._state is not StreamState.AWAITING_START:
            raise RemoteProtocolError(f"second start while {self._state.value}", event_hint=name)
        event = self._parse_start(msg)
        self._state = StreamState.STREAMING
        self._stream_id = event.stream_id
        self._format = event.media_format
        return (event,)

    def _parse_start(self, msg: dict[str, Any]) -> Start:
        body = need_object(msg, ("start",), "start")
        stream_id = need_str(
            first(body, ("streamSid",)) or msg.get("streamSid"), "streamSid", "start"
        )
        tracks = body.get("tracks")
        if tracks is None:
            tracks = ["inbound"]
        if not isinstance(tracks, list):
            raise RemoteProtocolError("start: tracks must be a list", event_hint="start")
        return Start(
            call_id=need_str(body.get("callSid"), "callSid", "start"),
            stream_id=stream_id,
            account_id=opt_str(body.get("accountSid"), "accountSid", "start"),
            tracks=tuple(track_name(t, "start") for t in tracks),
            media_format=parse_media_format(body.get("mediaFormat"), self._default_format),
            custom_parameters=string_map(body.get("customParameters"), "customParameters", "start"),
            sequence_number=self._sequence(msg, "start"),
        )

    def _on_media(self, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        # The hot path: no helper calls until something is wrong.
        if self._state is not StreamState.STREAMING:
            raise RemoteProtocolError(f"media while {self._state.value}", event_hint="media")
        sid = None
        for key in self.STREAM_KEYS:
            sid = msg.get(key)
            if sid is not None:
                if sid != self._stream_id:
                    raise RemoteProtocolError(
                        f"media for another stream ({sid!r})", event_hint="media"
                    )
                break
        body = msg.get("media")
        if type(body) is not dict:
            raise RemoteProtocolError("media message without a 'media' object", event_hint="media")
        payload = body.get("payload")
        if type(payload) is not str:
            raise RemoteProtocolError("media without a base64 'payload'", event_hint="media")
        try:
            audio = binascii.a2b_base64(payload, strict_mode=True)
        except ValueError as exc:  # binascii.Error, or non-ASCII text
            raise RemoteProtocolError(f"bad base64 payload: {exc}", event_hint="media") from None
        track = body.get("track")
        if track is None:
            track = "inbound"
        elif type(track) is not str:
            raise RemoteProtocolError("media: track must be a string", event_hint="media")
        elif track.endswith("_track"):
            track = track[:-6]
        try:
            media = Media(
                payload=audio,
                track=track,
                timestamp=optional_lenient_int(body.get("timestamp")),
                chunk=optional_lenient_int(body.get("chunk")),
                stream_id=sid,
                sequence_number=optional_lenient_int(first(msg, self.SEQUENCE_KEYS)),
            )
        except ValueError as exc:
            raise RemoteProtocolError(f"bad media message: {exc}", event_hint="media") from None
        return self._deliver_media(media)

    def _deliver_media(self, media: Media) -> Sequence[InboundEvent]:
        """Hook for codecs that reorder (Telnyx); the default delivers at once."""
        return (media,)

    def _on_dtmf(self, name: str, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        sid = self._check_streaming(name, msg)
        body = msg.get("dtmf")
        if body is None:
            body = msg  # a flat {"event":"dtmf","digit":...} (Telnyx shape is UNCONFIRMED)
        elif type(body) is not dict:
            raise RemoteProtocolError("dtmf: 'dtmf' must be an object", event_hint=name)
        digit = need_str(body.get("digit"), "digit", name)
        return (
            Dtmf(
                digit=digit,
                track=track_name(body.get("track"), name),
                timestamp=opt_int(body.get("timestamp"), "timestamp", name),
                stream_id=sid,
                sequence_number=self._sequence(msg, name),
            ),
        )

    def _on_mark(self, name: str, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        sid = self._check_streaming(name, msg)
        body = need_object(msg, ("mark",), name)
        mark = need_str(body.get("name"), "mark name", name)
        cleared = self._cleared_marks
        if mark in cleared:
            # The echo of a mark a clear made moot (they come right after the clear, before
            # any audio sent after it can have played). The call ignores it as stale -- unless
            # a new mark took the same name since: then it must not see this one at all.
            cleared.discard(mark)
            if mark in self._sent_marks:
                return _NO_EVENTS
        elif mark in self._sent_marks:
            del self._sent_marks[mark]
            # A mark sent after the clear has played, so every echo is in: stop remembering.
            cleared.clear()
        return (PlayedStream(name=mark, stream_id=sid, sequence_number=self._sequence(msg, name)),)

    def _on_cleared(self, name: str, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        # Not documented for Twilio; some Twilio-compatible servers confirm a clear this way.
        sid = self._check_streaming(name, msg)
        return (ClearedAudio(stream_id=sid, sequence_number=self._sequence(msg, name)),)

    def _on_stop(self, name: str, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        sid = self._check_streaming(name, msg)
        body = msg.get("stop")
        reason = body.get("reason") if type(body) is dict else None
        self._state = StreamState.ENDED
        return (
            *self._flush_media(),
            Stop(
                reason=opt_str(reason, "reason", name),
                stream_id=sid,
                sequence_number=self._sequence(msg, name),
            ),
        )

    def _flush_media(self) -> Sequence[InboundEvent]:
        """Media held back (Telnyx's reorder window) that must come out before the end."""
        return _NO_EVENTS

    def _on_error(self, name: str, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        sid = self._check_streaming(name, msg)
        detail = first(msg, ("error", "payload", "reason"))
        if isinstance(detail, Mapping):
            detail = first(detail, ("detail", "title", "message", "reason", "code"))
        reason = None if detail is None else str(detail)
        return (
            StreamError(reason=reason, stream_id=sid, sequence_number=self._sequence(msg, name)),
        )

    # --- sending --------------------------------------------------------------------------

    def send(self, command: OutboundCommand) -> str | bytes | None:
        """Encode ``command`` as one JSON text message. Raises :class:`LocalProtocolError`
        when the stream is not streaming or the provider has no such message."""
        self._check_sendable(command)
        kind = type(command)
        if kind is PlayAudio:
            assert isinstance(command, PlayAudio)
            return self._play_audio(command)
        if kind is Checkpoint:
            assert isinstance(command, Checkpoint)
            if not command.name:
                raise LocalProtocolError("a checkpoint needs a non-empty name")
            sent = self._sent_marks
            sent.pop(command.name, None)
            sent[command.name] = None
            if len(sent) > _MAX_TRACKED_MARKS:
                del sent[next(iter(sent))]
            return dumps(self._envelope("mark", {"mark": {"name": command.name}}))
        if kind is ClearAudio:
            cleared = self._cleared_marks
            if len(cleared) > _MAX_TRACKED_MARKS:  # a peer that never echoes: forget
                cleared.clear()
            cleared.update(self._sent_marks)
            self._sent_marks.clear()
            return dumps(self._envelope("clear", {}))
        if kind is SendDtmf:
            raise LocalProtocolError(
                f"{self.provider} streams cannot send DTMF: play in-band tones instead"
            )
        if kind is Hangup:
            raise LocalProtocolError(
                f"{self.provider} streams have no hang-up message: hang up over the REST API"
            )
        raise LocalProtocolError(f"not a command: {command!r}")

    def _envelope(self, event: str, fields: dict[str, Any]) -> dict[str, Any]:
        msg: dict[str, Any] = {"event": event}
        if self._out_stream_key is not None:
            msg[self._out_stream_key] = self._stream_id
        msg.update(fields)
        return msg

    def _check_audio(self, command: PlayAudio) -> AudioFormat:
        fmt = self._format
        assert fmt is not None  # set together with STREAMING
        if command.audio_format is not None and command.audio_format != fmt:
            raise LocalProtocolError(
                f"media in {command.audio_format} on a {fmt} stream: convert the audio first"
            )
        if not command.payload or len(command.payload) % fmt.bytes_per_sample:
            raise LocalProtocolError(
                f"media payload of {len(command.payload)} bytes is not whole {fmt} samples"
            )
        return fmt

    def _play_audio(self, command: PlayAudio) -> str:
        self._check_audio(command)
        payload = base64.b64encode(command.payload).decode("ascii")
        return dumps(self._envelope("media", {"media": {"payload": payload}}))


class TwilioCodec(TwilioShapedCodec):
    """One Twilio Media Stream (bidirectional ``<Connect><Stream>``): µ-law 8 kHz, 20 ms.

    ``streamSid`` goes on every outbound message (Twilio rejects messages without it).
    Twilio has no in-stream hang-up or DTMF command: the call plays DTMF as in-band tones and
    hangs up through :class:`trio_plivo.rest.TwilioRestClient`.
    """

    provider = "twilio"
