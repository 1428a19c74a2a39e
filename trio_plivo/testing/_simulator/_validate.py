"""Strict checks of what an application sends to Plivo (§1.3 of the protocol notes), and the
command and verdict types every provider's checks share (``_wire_*.py``).

Pure functions: one wire message in, the decoded command (when it is usable) and the list of
problems out. Nothing here raises on bad input; a simulator that crashes on a malformed frame
would hide the very bug it is meant to find.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Callable, Mapping
from typing import Final

import attrs
import orjson

from ..._format import AudioFormat
from ...transport import Message

__all__ = [
    "HARMLESS",
    "AppCommand",
    "CheckedMessage",
    "CheckpointCommand",
    "ClearAudioCommand",
    "ConversationTextCommand",
    "HangupCommand",
    "PlayAudioCommand",
    "Problem",
    "SendDtmfCommand",
    "Violation",
    "ViolationKind",
    "check_pcm16_frame",
    "decode_base64_audio",
    "decode_command",
    "absent_or_wrong",
    "check_nested",
    "decode_event",
    "decode_object",
    "rejected",
    "validate_app_message",
]


class ViolationKind(enum.StrEnum):
    """The kinds of protocol violations the simulator detects in an application's messages."""

    BINARY_FRAME = "binary_frame"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_EVENT = "unknown_event"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    WRONG_TYPE = "wrong_type"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    WRONG_SAMPLE_RATE = "wrong_sample_rate"
    BAD_BASE64 = "bad_base64"
    EMPTY_PAYLOAD = "empty_payload"
    PARTIAL_SAMPLE = "partial_sample"
    WRONG_STREAM_ID = "wrong_stream_id"
    BAD_DTMF = "bad_dtmf"
    AFTER_STOP = "after_stop"
    #: Audio in a size the provider plays badly or refuses (Exotel's 320-byte units, Vonage's
    #: and KooKoo's fixed frames).
    WRONG_CHUNK_SIZE = "wrong_chunk_size"


@attrs.frozen
class Violation:
    """One protocol violation by the application, ``at`` seconds after ``start`` was sent."""

    at: float
    kind: ViolationKind
    #: The ``event`` of the offending message, when it had a readable one.
    event: str | None
    detail: str


@attrs.frozen
class PlayAudioCommand:
    payload: bytes
    #: The provider acknowledges this very packet once it has played (KooKoo's ``seqid``).
    ack: str | None = None


@attrs.frozen
class CheckpointCommand:
    name: str


@attrs.frozen
class ClearAudioCommand:
    pass


@attrs.frozen
class SendDtmfCommand:
    digits: str


@attrs.frozen
class HangupCommand:
    """An in-stream hang-up (KooKoo's ``callDisconnect``)."""


@attrs.frozen
class ConversationTextCommand:
    """A line of the conversation for a client with a screen (the browser page)."""

    kind: str
    text: str


AppCommand = (
    PlayAudioCommand
    | CheckpointCommand
    | ClearAudioCommand
    | SendDtmfCommand
    | HangupCommand
    | ConversationTextCommand
)

# Plivo tolerates a top-level streamId on playAudio (SDK-java and pipecat send one), so it is
# allowed but, when present, must be the right one.
_ALLOWED_KEYS: Final[dict[str, frozenset[str]]] = {
    "playAudio": frozenset({"event", "media", "streamId"}),
    "checkpoint": frozenset({"event", "streamId", "name"}),
    "clearAudio": frozenset({"event", "streamId"}),
    "sendDTMF": frozenset({"event", "dtmf"}),
}
_MEDIA_KEYS: Final = frozenset({"contentType", "sampleRate", "payload"})
_DTMF_DIGITS: Final = re.compile(r"[0-9A-D*#]+")
# Unknown fields are reported but do not stop the command from taking effect: Plivo ignores
# extra keys. Audio of an awkward size still plays (with a gap, on Exotel). Every other kind
# makes the message unusable.
HARMLESS: Final = frozenset({ViolationKind.UNKNOWN_FIELD, ViolationKind.WRONG_CHUNK_SIZE})


@attrs.frozen
class Problem:
    """One thing wrong with a message (it becomes a :class:`Violation` with a time)."""

    kind: ViolationKind
    detail: str


@attrs.frozen
class CheckedMessage:
    """The verdict on one message from the application."""

    #: The message's ``event``, when it had a readable one.
    event: str | None
    #: The decoded JSON object, when the message was one.
    data: dict[str, object] | None
    #: What to apply; ``None`` when the message is unusable.
    command: AppCommand | None
    problems: tuple[Problem, ...]


def rejected(
    kind: ViolationKind,
    detail: str,
    *,
    event: str | None = None,
    data: dict[str, object] | None = None,
) -> CheckedMessage:
    return CheckedMessage(event=event, data=data, command=None, problems=(Problem(kind, detail),))


def decode_object(
    message: Message, *, provider: str = "Plivo"
) -> dict[str, object] | CheckedMessage:
    """A JSON text frame as a dict, or the rejection of anything else."""
    if isinstance(message, bytes):
        return rejected(
            ViolationKind.BINARY_FRAME,
            f"binary frame of {len(message)} bytes ({provider} takes JSON text here)",
        )
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError as exc:
        return rejected(ViolationKind.INVALID_JSON, str(exc))
    if not isinstance(data, dict):
        return rejected(ViolationKind.NOT_AN_OBJECT, f"top level is {type(data).__name__}")
    return data


def decode_command(
    message: Message,
    key: str,
    allowed: Mapping[str, frozenset[str]],
    *,
    provider: str,
    audio: Callable[[bytes], CheckedMessage],
) -> tuple[str, dict[str, object], list[Problem]] | CheckedMessage:
    """A JSON command whose name is under ``key`` (``"action"``, ``"type"``): its name, its
    object and its unknown fields as problems. A binary frame is judged by ``audio``; anything
    else is rejected."""
    if isinstance(message, bytes):
        return audio(message)
    data = decode_object(message, provider=provider)
    if isinstance(data, CheckedMessage):
        return data
    name = data.get(key)
    if not isinstance(name, str):
        return rejected(absent_or_wrong(name), f"{key!r} must be a string", data=data)
    known = allowed.get(name)
    if known is None:
        return rejected(
            ViolationKind.UNKNOWN_EVENT,
            f"unknown {key} {name!r} ({provider} takes {', '.join(allowed)})",
            event=name,
            data=data,
        )
    problems = [
        Problem(ViolationKind.UNKNOWN_FIELD, f"unknown field {field!r}")
        for field in sorted(data.keys() - known)
    ]
    return name, data, problems


def check_pcm16_frame(audio: bytes, event: str) -> CheckedMessage | None:
    """The rejection of a binary audio frame that is empty or not whole PCM16 samples."""
    if not audio:
        return rejected(ViolationKind.EMPTY_PAYLOAD, "empty binary frame", event=event)
    if len(audio) % 2:
        return rejected(
            ViolationKind.PARTIAL_SAMPLE,
            f"binary frame of {len(audio)} bytes is not whole PCM16 samples",
            event=event,
        )
    return None


def absent_or_wrong(value: object) -> ViolationKind:
    """The violation for a field that is not what it must be: missing, or the wrong type."""
    return ViolationKind.MISSING_FIELD if value is None else ViolationKind.WRONG_TYPE


def decode_event(
    message: Message, *, provider: str = "Plivo"
) -> tuple[str, dict[str, object]] | CheckedMessage:
    """A JSON text frame's ``event`` name and object, or the rejection of anything else."""
    data = decode_object(message, provider=provider)
    if isinstance(data, CheckedMessage):
        return data
    event = data.get("event")
    if not isinstance(event, str):
        return rejected(absent_or_wrong(event), "'event' must be a string", data=data)
    return event, data


def check_nested(
    value: object, field: str, allowed: frozenset[str] | set[str], problems: list[Problem]
) -> dict[str, object] | None:
    """``value`` (the message's ``field``) as an object, noting unknown keys in it; ``None``
    (with the reason noted) when it is not an object."""
    if not isinstance(value, dict):
        problems.append(Problem(absent_or_wrong(value), f"'{field}' must be an object"))
        return None
    problems.extend(
        Problem(ViolationKind.UNKNOWN_FIELD, f"unknown field '{field}.{key}'")
        for key in sorted(value.keys() - allowed)
    )
    return value


def validate_app_message(message: Message, *, fmt: AudioFormat, stream_id: str) -> CheckedMessage:
    """Check one message from the application against the negotiated stream."""
    decoded = decode_event(message)
    if isinstance(decoded, CheckedMessage):
        return decoded
    event, data = decoded
    if event not in _ALLOWED_KEYS:
        return rejected(
            ViolationKind.UNKNOWN_EVENT, f"unknown event {event!r}", event=event, data=data
        )

    problems: list[Problem] = [
        Problem(ViolationKind.UNKNOWN_FIELD, f"unknown field {key!r}")
        for key in sorted(data.keys() - _ALLOWED_KEYS[event])
    ]
    command: AppCommand | None
    if event == "playAudio":
        if "streamId" in data:
            _check_stream_id(data, stream_id, problems)
        command = _check_play_audio(data.get("media"), fmt, problems)
    elif event == "checkpoint":
        _check_stream_id(data, stream_id, problems)
        name = data.get("name")
        command = None
        if name is None:
            problems.append(Problem(ViolationKind.MISSING_FIELD, "checkpoint without 'name'"))
        elif not isinstance(name, str) or not name:
            problems.append(Problem(ViolationKind.WRONG_TYPE, "'name' must be a non-empty string"))
        else:
            command = CheckpointCommand(name)
    elif event == "clearAudio":
        _check_stream_id(data, stream_id, problems)
        command = ClearAudioCommand()
    else:
        command = _check_dtmf(data.get("dtmf"), problems)
    if any(p.kind not in HARMLESS for p in problems):
        command = None
    return CheckedMessage(event=event, data=data, command=command, problems=tuple(problems))


def _check_stream_id(data: dict[str, object], stream_id: str, problems: list[Problem]) -> None:
    value = data.get("streamId")
    if value is None:
        problems.append(Problem(ViolationKind.MISSING_FIELD, "missing 'streamId'"))
    elif value != stream_id:
        problems.append(
            Problem(ViolationKind.WRONG_STREAM_ID, f"streamId {value!r} is not {stream_id!r}")
        )


def _check_play_audio(
    media: object, fmt: AudioFormat, problems: list[Problem]
) -> PlayAudioCommand | None:
    media = check_nested(media, "media", _MEDIA_KEYS, problems)
    if media is None:
        return None
    content_type = media.get("contentType")
    if content_type is None:
        problems.append(Problem(ViolationKind.MISSING_FIELD, "missing 'media.contentType'"))
    elif content_type != fmt.content_type:
        problems.append(
            Problem(
                ViolationKind.WRONG_CONTENT_TYPE,
                f"contentType {content_type!r}, stream negotiated {fmt.content_type!r}",
            )
        )
    rate = media.get("sampleRate")
    if rate is None:
        problems.append(Problem(ViolationKind.MISSING_FIELD, "missing 'media.sampleRate'"))
    elif not isinstance(rate, int) or isinstance(rate, bool):
        problems.append(
            Problem(ViolationKind.WRONG_TYPE, f"sampleRate must be an integer, got {rate!r}")
        )
    elif rate != fmt.sample_rate:
        problems.append(
            Problem(
                ViolationKind.WRONG_SAMPLE_RATE,
                f"sampleRate {rate}, stream negotiated {fmt.sample_rate}",
            )
        )
    payload = media.get("payload")
    if payload is None:
        problems.append(Problem(ViolationKind.MISSING_FIELD, "missing 'media.payload'"))
        return None
    if not isinstance(payload, str):
        problems.append(Problem(ViolationKind.WRONG_TYPE, "'media.payload' must be a string"))
        return None
    audio = decode_base64_audio(payload, fmt, problems)
    return None if audio is None else PlayAudioCommand(audio)


def decode_base64_audio(payload: str, fmt: AudioFormat, problems: list[Problem]) -> bytes | None:
    """A base64 ``payload`` decoded to whole, non-empty samples of ``fmt``, or ``None`` with
    the reason appended to ``problems``."""
    try:
        audio = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        problems.append(Problem(ViolationKind.BAD_BASE64, f"payload is not base64: {exc}"))
        return None
    if not audio:
        problems.append(Problem(ViolationKind.EMPTY_PAYLOAD, "empty payload"))
        return None
    if len(audio) % fmt.bytes_per_sample:
        problems.append(
            Problem(
                ViolationKind.PARTIAL_SAMPLE,
                f"{len(audio)} bytes is not a whole number of {fmt.bytes_per_sample}-byte samples",
            )
        )
        return None
    return audio


def _check_dtmf(digits: object, problems: list[Problem]) -> SendDtmfCommand | None:
    if digits is None:
        problems.append(Problem(ViolationKind.MISSING_FIELD, "sendDTMF without 'dtmf'"))
        return None
    if not isinstance(digits, str):
        problems.append(Problem(ViolationKind.WRONG_TYPE, "'dtmf' must be a string"))
        return None
    if not _DTMF_DIGITS.fullmatch(digits):
        problems.append(Problem(ViolationKind.BAD_DTMF, f"digits {digits!r} outside [0-9A-D*#]"))
        return None
    return SendDtmfCommand(digits)
