"""Validation of stream settings shared by the ``<Stream>`` XML element and the REST API.

Both take the same settings (camelCase attributes in XML, snake_case fields in JSON), with the
same rules, so both go through these checks and fail the same way: a
:class:`~trio_plivo.ConfigurationError` raised when the object is built, not when Plivo
rejects the call minutes later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from .._exceptions import ConfigurationError
from .._format import L16_8K, L16_16K, MULAW_8K, AudioFormat

__all__ = [
    "AUDIO_TRACKS",
    "CONTENT_TYPES",
    "check_audio_track",
    "check_http_url",
    "check_int",
    "check_method",
    "check_stream_url",
    "encode_extra_headers",
    "normalise_content_type",
]

AUDIO_TRACKS: Final = ("inbound", "outbound", "both")
CONTENT_TYPES: Final = tuple(f.to_content_type() for f in (L16_8K, L16_16K, MULAW_8K))
_EXTRA_HEADERS_MAX_BYTES: Final = 512
_ALNUM: Final = re.compile(r"[A-Za-z0-9]+")


def _check_url(url: object, schemes: tuple[str, ...], what: str) -> str:
    if not isinstance(url, str):
        raise ConfigurationError(f"{what} must be a string URL, got {type(url).__name__}")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ConfigurationError(f"{what} must be an absolute {wanted} URL, got {url!r}")
    return url


def check_stream_url(url: object, what: str = "the stream URL") -> str:
    """A ``ws://``/``wss://`` URL with a host, surrounding whitespace removed."""
    return _check_url(url, ("ws", "wss"), what)


def check_http_url(url: object, what: str) -> str:
    """An ``http://``/``https://`` URL with a host, surrounding whitespace removed."""
    return _check_url(url, ("http", "https"), what)


def check_method(method: object, what: str) -> str:
    """``GET`` or ``POST`` in any case, returned upper-case."""
    if not isinstance(method, str) or method.upper() not in ("GET", "POST"):
        raise ConfigurationError(f"{what} must be 'GET' or 'POST', got {method!r}")
    return method.upper()


def check_int(value: object, what: str, *, low: int = 1, high: int | None = None) -> int:
    """An ``int`` (not a ``bool``) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{what} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ConfigurationError(f"{what} must be {bounds}, got {value}")
    return value


def check_audio_track(track: object, *, bidirectional: bool | None) -> str:
    """One of ``inbound``/``outbound``/``both``; only ``inbound`` on a bidirectional stream."""
    if not isinstance(track, str) or track not in AUDIO_TRACKS:
        raise ConfigurationError(f"audio_track must be one of {AUDIO_TRACKS}, got {track!r}")
    if bidirectional and track != "inbound":
        # Plivo documents that a bidirectional stream forks only the inbound track.
        raise ConfigurationError(
            f"audio_track must be 'inbound' on a bidirectional stream, got {track!r}"
        )
    return track


def normalise_content_type(value: object) -> str:
    """An :class:`~trio_plivo.AudioFormat` or content-type string, as Plivo's XML spelling
    (``audio/x-l16;rate=16000``); only the three formats Plivo streams are accepted."""
    if isinstance(value, AudioFormat):
        fmt = value
    elif isinstance(value, str):
        try:
            fmt = AudioFormat.from_content_type(value)
        except ValueError as exc:  # ConfigurationError is one: say what would do
            raise ConfigurationError(
                f"content_type must be one of {', '.join(CONTENT_TYPES)}, got {value!r} ({exc})"
            ) from None
    else:
        raise ConfigurationError(
            f"content_type must be an AudioFormat or a string, got {type(value).__name__}"
        )
    text = fmt.to_content_type()
    if text not in CONTENT_TYPES or fmt.channels != 1 or fmt.byte_order != "little":
        raise ConfigurationError(
            f"content_type must be one of {', '.join(CONTENT_TYPES)} (mono), got {value!s}"
        )
    return text


def _split_extra_headers(text: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    # Plivo's XML examples separate pairs with ',' and its WebSocket frames with ';'.
    for item in re.split(r"[,;]", text):
        if not item.strip():
            continue
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise ConfigurationError(f"extra_headers entry {item!r} is not key=value")
        pairs.append((key, value))
    return pairs


def encode_extra_headers(value: Mapping[str, str] | str) -> str:
    """``{"tenant": "acme"}`` or ``"tenant=acme,lead=42"`` as Plivo's ``k=v,k=v`` string.

    Keys and values may only contain ``[A-Za-z0-9]``; the result must fit in 512 bytes.
    """
    if isinstance(value, str):
        pairs = _split_extra_headers(value)
    elif isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        raise ConfigurationError(
            f"extra_headers must be a dict or a string, got {type(value).__name__}"
        )
    for key, item in pairs:
        for part, label in ((key, "key"), (item, "value")):
            if not _ALNUM.fullmatch(part):
                raise ConfigurationError(
                    f"extra_headers {label} {part!r} may only contain A-Z, a-z and 0-9"
                )
    encoded = ",".join(f"{k}={v}" for k, v in pairs)
    if len(encoded.encode()) > _EXTRA_HEADERS_MAX_BYTES:
        raise ConfigurationError(
            f"extra_headers must be at most {_EXTRA_HEADERS_MAX_BYTES} bytes, "
            f"got {len(encoded.encode())}"
        )
    return encoded
