"""Field readers shared by the JSON stream protocols (Twilio-shaped, Vonage, KooKoo, the
browser): everything malformed becomes a :class:`~trio_plivo.RemoteProtocolError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from .._exceptions import RemoteProtocolError
from .._format import AudioFormat, parse_encoding
from ._converter import optional_lenient_int, parse_extra_headers

__all__ = [
    "decode_json_object",
    "dumps",
    "first",
    "need_object",
    "need_str",
    "opt_int",
    "opt_str",
    "parse_media_format",
    "string_map",
    "track_name",
]


# --- small readers: everything malformed becomes a RemoteProtocolError -------------------


def first(obj: Mapping[str, Any], keys: Sequence[str]) -> Any:
    """The value of the first of ``keys`` present (not ``None``) in ``obj``."""
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return value
    return None


def need_object(obj: Mapping[str, Any], keys: Sequence[str], event: str) -> dict[str, Any]:
    """The nested object under the first of ``keys``; a RemoteProtocolError if absent."""
    value = first(obj, keys)
    if type(value) is not dict:
        raise RemoteProtocolError(f"{event} message without a {keys[0]!r} object", event_hint=event)
    return value


def need_str(value: object, what: str, event: str) -> str:
    """A non-empty string (numbers are accepted: ids are sometimes numeric)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise RemoteProtocolError(f"{event} without a {what} string", event_hint=event)
    return value


def opt_str(value: object, what: str, event: str) -> str | None:
    """``None`` or a string (numbers accepted)."""
    return None if value is None else need_str(value, what, event)


def opt_int(value: object, what: str, event: str) -> int | None:
    """``None``, an int or a numeric string (providers send both)."""
    try:
        return optional_lenient_int(value)
    except ValueError:
        raise RemoteProtocolError(f"{event}: {what} is not an integer", event_hint=event) from None


def string_map(value: object, what: str, event: str) -> dict[str, str]:
    """A JSON object of scalars as ``dict[str, str]`` (``None`` gives ``{}``)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RemoteProtocolError(f"{event}: {what} must be an object", event_hint=event)
    try:
        return parse_extra_headers(value)
    except ValueError as exc:
        raise RemoteProtocolError(f"{event}: bad {what}: {exc}", event_hint=event) from None


def track_name(value: object, event: str) -> str:
    """``inbound``/``outbound``; Twilio's ``inbound_track`` spelling is normalised."""
    if value is None:
        return "inbound"
    if type(value) is not str:
        raise RemoteProtocolError(f"{event}: track must be a string", event_hint=event)
    return value[:-6] if value.endswith("_track") else value


def parse_media_format(value: object, default: AudioFormat, event: str = "start") -> AudioFormat:
    """A ``mediaFormat``/``media_format`` object -> :class:`AudioFormat`.

    Accepts camelCase and snake_case keys, numbers as strings, and an encoding written as a
    content type with its rate (``audio/l16;rate=16000``). Absent gives ``default``. Only mono
    is supported (every provider here streams mono).
    """
    if value is None:
        return default
    if not isinstance(value, Mapping):
        raise RemoteProtocolError(f"{event}: media format must be an object", event_hint=event)
    encoding_text = value.get("encoding")
    if not isinstance(encoding_text, str):
        raise RemoteProtocolError(f"{event}: media format without an encoding", event_hint=event)
    mime, _, params = encoding_text.partition(";")
    rate: object = first(value, ("sampleRate", "sample_rate", "rate"))
    for param in params.split(";"):
        key, _, param_value = param.partition("=")
        if key.strip().lower() == "rate" and rate is None:
            rate = param_value.strip()
    channels = opt_int(value.get("channels"), "channels", event) or 1
    if channels != 1:
        raise RemoteProtocolError(f"{event}: {channels} channels (only mono)", event_hint=event)
    try:
        encoding = parse_encoding(mime)
    except ValueError as exc:
        raise RemoteProtocolError(f"{event}: {exc}", event_hint=event) from None
    sample_rate = opt_int(rate, "sample rate", event) or default.sample_rate
    if sample_rate <= 0:
        raise RemoteProtocolError(f"{event}: sample rate {sample_rate}", event_hint=event)
    return AudioFormat(encoding=encoding, sample_rate=sample_rate, byte_order=default.byte_order)


def decode_json_object(message: str | bytes, provider: str) -> dict[str, Any]:
    """One JSON text frame -> a dict, or a RemoteProtocolError naming what is wrong."""
    if not isinstance(message, str):
        raise RemoteProtocolError(f"binary frame: {provider} sends JSON text frames here")
    try:
        decoded = orjson.loads(message)
    except orjson.JSONDecodeError as exc:
        raise RemoteProtocolError(f"malformed JSON: {exc}") from None
    if type(decoded) is not dict:
        raise RemoteProtocolError(f"expected a JSON object, got {type(decoded).__name__}")
    return decoded


def dumps(message: Mapping[str, Any]) -> str:
    """Compact JSON text (orjson: the outbound media path runs 50 times a second)."""
    return orjson.dumps(message).decode()


# --- the shared codec ---------------------------------------------------------------------
