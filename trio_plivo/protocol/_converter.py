"""Wire <-> event conversion for Plivo, built once on one cattrs converter.

Plivo's JSON is camelCase and partly nested (``start.callId``, ``media.payload``); our events
are flat and snake_case. Conversion is two steps: flatten/nest the one nested object a message
has (``_NESTED``), then let cattrs map names and types with the hooks registered below.

Wire names appear only here and in the media fast path of :mod:`.plivo`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Final

import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .._format import AudioFormat, parse_encoding
from ._events import (
    ClearedAudio,
    Dtmf,
    Media,
    MuteStream,
    PlayedStream,
    PlayFailed,
    Start,
    Stop,
    StreamError,
    UnmuteStream,
)

__all__ = [
    "INBOUND_EVENT_NAMES",
    "PLIVO_CONVERTER",
    "lenient_int",
    "optional_lenient_int",
    "parse_extra_headers",
    "structure_inbound",
    "unstructure_inbound",
    "wire_event_name",
]


def lenient_int(value: object) -> int:
    """``42`` or ``"42"`` -> 42. Providers send numbers as strings as often as not."""
    if type(value) is int:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def optional_lenient_int(value: object) -> int | None:
    """Like :func:`lenient_int`, but ``None`` and ``""`` mean absent."""
    if value is None or value == "":
        return None
    return lenient_int(value)


def _strict_str(value: object) -> str:
    # Numbers become strings (ids are sometimes numeric), containers are an error: cattrs'
    # default str() would silently turn a dict into "{'a': 1}".
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string, got {type(value).__name__}")


def b64decode_strict(value: object) -> bytes:
    """Standard, padded base64 -> bytes; anything else is a ``ValueError``."""
    if not isinstance(value, str):
        raise ValueError(f"expected a base64 string, got {type(value).__name__}")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise ValueError(f"bad base64 payload: {exc}") from None


_HEADER_SPLIT: Final = re.compile(r"[;,]")


def parse_extra_headers(raw: object) -> dict[str, str]:
    """Parse Plivo's ``extra_headers``: a JSON object string, or ``k=v`` pairs separated by
    ``;`` or ``,`` (the docs show both). Absent or empty gives ``{}``. Never raises on a
    string: headers are informational, a malformed item is kept with an empty value."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {str(k): _strict_str(v) if v is not None else "" for k, v in raw.items()}
    if not isinstance(raw, str):
        raise ValueError(f"extra_headers must be a string, got {type(raw).__name__}")
    text = raw.strip()
    if text.startswith("{"):
        try:
            decoded = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            if isinstance(decoded, dict):
                return {
                    str(k): v if isinstance(v, str) else orjson.dumps(v).decode()
                    for k, v in decoded.items()
                }
    headers: dict[str, str] = {}
    for item in _HEADER_SPLIT.split(text):
        key, _, value = item.partition("=")
        if key.strip():
            headers[key.strip()] = value.strip()
    return headers


def _structure_audio_format(value: object, _: type) -> AudioFormat:
    if not isinstance(value, Mapping):
        raise ValueError("mediaFormat must be an object")
    encoding = parse_encoding(_strict_str(value.get("encoding")))
    rate = value.get("sampleRate", value.get("sample_rate"))
    channels = value.get("channels", 1)
    return AudioFormat(
        encoding=encoding, sample_rate=lenient_int(rate), channels=lenient_int(channels)
    )


def _unstructure_audio_format(fmt: AudioFormat) -> dict[str, Any]:
    return {"encoding": fmt.content_type, "sampleRate": fmt.sample_rate}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(int, lambda v, _: lenient_int(v))
    conv.register_structure_hook(str, lambda v, _: _strict_str(v))
    conv.register_structure_hook(bytes, lambda v, _: b64decode_strict(v))
    # Never cattrs' base85 default (preconf.json): Plivo payloads are base64.
    conv.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
    conv.register_structure_hook(AudioFormat, _structure_audio_format)
    conv.register_unstructure_hook(AudioFormat, _unstructure_audio_format)
    conv.register_structure_hook(int | None, lambda v, _: optional_lenient_int(v))

    for cls in _EVENT_CLASSES.values():
        renames: dict[str, Any] = {
            field.name: override(rename=_camel(field.name)) for field in cls.__attrs_attrs__
        }
        if cls is Start:
            # extra_headers is top-level and snake_case on the wire, read twice: parsed + raw.
            renames["extra_headers"] = override(
                rename="extra_headers", struct_hook=lambda v, _: parse_extra_headers(v)
            )
            renames["extra_headers_raw"] = override(rename="extra_headers")
        if cls in (Media, Dtmf):
            # Plivo sends timestamps as digit strings; we keep int milliseconds.
            renames["timestamp"] = override(struct_hook=lambda v, _: optional_lenient_int(v))
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **renames))
        conv.register_unstructure_hook(
            cls, make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=False, **renames)
        )
    return conv


#: Wire event name -> event class, for every inbound message we model.
_EVENT_CLASSES: Final[dict[str, type[Any]]] = {
    "start": Start,
    "media": Media,
    "dtmf": Dtmf,
    "playedStream": PlayedStream,
    "played": PlayedStream,  # spelling in an older Plivo support article
    "clearedAudio": ClearedAudio,
    "stop": Stop,
    "playFailed": PlayFailed,
    "error": StreamError,
    "muteStream": MuteStream,
    "unmuteStream": UnmuteStream,
}
INBOUND_EVENT_NAMES: Final = frozenset(_EVENT_CLASSES)

_WIRE_NAMES: Final[dict[type[Any], str]] = {
    cls: name for name, cls in _EVENT_CLASSES.items() if name != "played"
}

#: Events whose payload fields sit in a nested object named after the event; the fields
#: listed live there, everything else is top-level.
_NESTED: Final[dict[type[Any], frozenset[str]]] = {
    Start: frozenset(
        {"callId", "streamId", "accountId", "tracks", "mediaFormat", "customParameters"}
    ),
    Media: frozenset({"track", "timestamp", "chunk", "payload"}),
    Dtmf: frozenset({"track", "timestamp", "digit"}),
}

#: The converter, built once at import and never mutated afterwards.
PLIVO_CONVERTER: Final = _make_converter()


def wire_event_name(cls: type[Any]) -> str | None:
    """Plivo's wire name for an inbound event class (``None`` for one it has no name for)."""
    return _WIRE_NAMES.get(cls)


def event_class_for(name: str) -> type[Any] | None:
    """The event class for a wire event name, or ``None`` if we don't model it."""
    return _EVENT_CLASSES.get(name)


def structure_inbound(message: Mapping[str, Any], cls: type[Any]) -> Any:
    """Build event ``cls`` from a decoded Plivo message (flattening its nested object).

    Raises ``ValueError`` (with every problem listed) when the message doesn't fit.
    """
    nested_fields = _NESTED.get(cls)
    if nested_fields is not None:
        body = message.get(_WIRE_NAMES[cls])
        if not isinstance(body, Mapping):
            raise ValueError(f"missing or non-object {_WIRE_NAMES[cls]!r} body")
        flat = {**message, **body}
    else:
        flat = dict(message)
    try:
        return PLIVO_CONVERTER.structure(flat, cls)
    except cattrs.BaseValidationError as exc:
        # An ExceptionGroup must never escape: it would look like a nursery's error group.
        raise ValueError("; ".join(cattrs.transform_error(exc))) from None


def unstructure_inbound(event: Any) -> dict[str, Any]:
    """The Plivo wire message for an inbound event (what Plivo would send); used by the
    simulator and round-trip tests."""
    cls = type(event)
    flat: dict[str, Any] = PLIVO_CONVERTER.unstructure(event)
    name = _WIRE_NAMES[cls]
    nested_fields = _NESTED.get(cls)
    out: dict[str, Any] = {"event": name}
    body: dict[str, Any] = {}
    for key, value in flat.items():
        if nested_fields is not None and key in nested_fields:
            body[key] = value
        else:
            out[key] = value
    if cls is Start:
        out.pop("extra_headers", None)
        if event.extra_headers_raw is not None:
            out["extra_headers"] = event.extra_headers_raw
        if not event.custom_parameters:
            body.pop("customParameters", None)
    if cls in (Media, Dtmf) and body.get("timestamp") is not None:
        body["timestamp"] = str(body["timestamp"])
    if nested_fields is not None:
        out[name] = body
    return {k: v for k, v in out.items() if v is not None}
