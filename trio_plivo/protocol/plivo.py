"""Plivo's audio-stream protocol, sans-IO (``../shared/protocols.md`` §1.2-§1.3).

``media`` is about fifty messages a second per call, so it takes a hand-written fast path
(orjson + binascii + the attrs constructor, measured in ``bench/bench_protocol.py``); every
other message goes through the cattrs converter, where clarity matters more than speed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any, Final

import orjson

from .._exceptions import LocalProtocolError, RemoteProtocolError
from ._codec import CodecState, StreamState
from ._converter import event_class_for, optional_lenient_int, structure_inbound
from ._events import (
    Checkpoint,
    ClearAudio,
    Hangup,
    InboundEvent,
    Media,
    OutboundCommand,
    PlayAudio,
    SendDtmf,
    Start,
    Stop,
    UnknownEvent,
)

__all__ = ["PlivoCodec"]

_DTMF_DIGITS: Final = re.compile(r"[0-9A-D*#]+")
_PAYLOAD_PLACEHOLDER: Final = "<payload>"


class PlivoCodec(CodecState):
    """One Plivo stream's protocol state machine and wire format.

    ``include_stream_id_in_play_audio`` adds a top-level ``streamId`` to ``playAudio`` (the
    Java SDK and pipecat do; the docs don't, so it is off by default).
    """

    provider = "plivo"
    frame_ms = 20
    acks_checkpoints_on_clear = False
    has_dtmf_events = True
    supports_dtmf_out = True
    supports_hangup = False

    __slots__ = ("_include_stream_id", "_play_prefix", "_play_suffix", "_sample_bytes")

    def __init__(self, *, include_stream_id_in_play_audio: bool = False) -> None:
        super().__init__()
        self._include_stream_id = include_stream_id_in_play_audio
        # playAudio is the other fifty-a-second message: its JSON around the payload is fixed
        # for the stream, so it is rendered once at ``start`` (see _play_audio_template).
        self._play_prefix = ""
        self._play_suffix = ""
        self._sample_bytes = 1

    # --- receiving ------------------------------------------------------------------------

    def receive(self, message: str | bytes) -> Sequence[InboundEvent]:
        """Parse one WebSocket message. Raises :class:`RemoteProtocolError` naming the problem."""
        if isinstance(message, bytes | bytearray | memoryview):
            raise RemoteProtocolError("binary frame: Plivo sends only JSON text frames")
        try:
            decoded = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            raise RemoteProtocolError(f"malformed JSON: {exc}") from None
        if type(decoded) is not dict:
            raise RemoteProtocolError(f"expected a JSON object, got {type(decoded).__name__}")
        name = decoded.get("event")
        if name == "media":
            return (self._receive_media(decoded),)
        if not isinstance(name, str):
            raise RemoteProtocolError("message has no 'event' string")
        return (self._receive_other(name, decoded),)

    def _receive_media(self, msg: dict[str, Any]) -> Media:
        if self._state is not StreamState.STREAMING:
            raise RemoteProtocolError(f"media while {self._state.value}", event_hint="media")
        stream_id = msg.get("streamId")
        if stream_id is not None and stream_id != self._stream_id:
            raise RemoteProtocolError(
                f"media for another stream ({stream_id!r})", event_hint="media"
            )
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
        try:
            return Media(
                payload=audio,
                track=body.get("track") or "inbound",
                timestamp=optional_lenient_int(body.get("timestamp")),
                chunk=optional_lenient_int(body.get("chunk")),
                stream_id=stream_id,
                sequence_number=optional_lenient_int(msg.get("sequenceNumber")),
            )
        except ValueError as exc:
            raise RemoteProtocolError(f"bad media message: {exc}", event_hint="media") from None

    def _receive_other(self, name: str, msg: dict[str, Any]) -> InboundEvent:
        cls = event_class_for(name)
        if cls is None:
            stream_id = msg.get("streamId")
            return UnknownEvent(
                event=name, raw=msg, stream_id=stream_id if isinstance(stream_id, str) else None
            )
        if cls is Start:
            if self._state is not StreamState.AWAITING_START:
                raise RemoteProtocolError(
                    f"second start while {self._state.value}", event_hint=name
                )
        elif self._state is StreamState.AWAITING_START:
            raise RemoteProtocolError(f"{name} before start", event_hint=name)
        elif self._state is StreamState.ENDED:
            raise RemoteProtocolError(f"{name} after the stream ended", event_hint=name)
        else:
            stream_id = msg.get("streamId")
            if stream_id is not None and stream_id != self._stream_id:
                raise RemoteProtocolError(
                    f"{name} for another stream ({stream_id!r})", event_hint=name
                )
        try:
            event: InboundEvent = structure_inbound(msg, cls)
        except ValueError as exc:
            raise RemoteProtocolError(f"bad {name} message: {exc}", event_hint=name) from None
        if isinstance(event, Start):
            self._state = StreamState.STREAMING
            self._stream_id = event.stream_id
            self._format = event.media_format
            self._sample_bytes = event.media_format.bytes_per_sample
            self._play_prefix, self._play_suffix = self._play_audio_template()
        elif isinstance(event, Stop):
            self._state = StreamState.ENDED
        return event

    # --- sending --------------------------------------------------------------------------

    def send(self, command: OutboundCommand) -> str:
        """Encode ``command`` as Plivo JSON text. Raises :class:`LocalProtocolError` when the
        stream has not started or has ended, or the command is invalid."""
        self._check_sendable(command)
        if type(command) is PlayAudio:
            return self._play_audio(command)
        if type(command) is Checkpoint:
            if not command.name:
                raise LocalProtocolError("a checkpoint needs a non-empty name")
            msg: dict[str, Any] = {
                "event": "checkpoint",
                "streamId": self._stream_id,
                "name": command.name,
            }
        elif type(command) is ClearAudio:
            msg = {"event": "clearAudio", "streamId": self._stream_id}
        elif type(command) is Hangup:
            raise LocalProtocolError(
                "Plivo streams have no hang-up message: hang up over the REST API"
            )
        elif type(command) is SendDtmf:
            if not _DTMF_DIGITS.fullmatch(command.digits):
                raise LocalProtocolError(
                    f"invalid DTMF digits {command.digits!r} (allowed: 0-9 A-D * #)"
                )
            msg = {"event": "sendDTMF", "dtmf": command.digits}
        else:
            raise LocalProtocolError(f"not a command: {command!r}")
        return orjson.dumps(msg).decode()

    def _play_audio(self, command: PlayAudio) -> str:
        fmt = self._format
        assert fmt is not None  # set together with STREAMING
        if command.audio_format is not None and command.audio_format != fmt:
            raise LocalProtocolError(
                f"playAudio in {command.audio_format} on a {fmt} stream: Plivo rejects codec "
                "switches, convert the audio first"
            )
        payload = command.payload
        if not payload or len(payload) % self._sample_bytes:
            raise LocalProtocolError(
                f"playAudio payload of {len(payload)} bytes is not whole {fmt} samples"
            )
        return self._play_prefix + base64.b64encode(payload).decode("ascii") + self._play_suffix

    def _play_audio_template(self) -> tuple[str, str]:
        """The ``playAudio`` JSON before and after the payload, rendered by orjson once (the
        base64 alphabet needs no escaping, so pasting a payload in gives the same JSON)."""
        fmt = self._format
        assert fmt is not None
        media = {
            "contentType": fmt.content_type,
            "sampleRate": fmt.sample_rate,
            "payload": _PAYLOAD_PLACEHOLDER,
        }
        msg: dict[str, Any] = {"event": "playAudio", "media": media}
        if self._include_stream_id:
            msg["streamId"] = self._stream_id
        # media comes before streamId, so the first placeholder is the payload's.
        prefix, _, suffix = orjson.dumps(msg).decode().partition(_PAYLOAD_PLACEHOLDER)
        return prefix, suffix
