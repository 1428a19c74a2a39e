"""Checks and document shapes shared by the answer builders: everything is validated when a
document is built."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import urlsplit

from .._exceptions import ConfigurationError

DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>'


def check_url(value: object, what: str, schemes: Iterable[str]) -> str:
    """An absolute URL with one of ``schemes`` and a host."""
    allowed = tuple(schemes)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty URL, got {value!r}")
    try:
        parts = urlsplit(value.strip())
    except ValueError as exc:
        raise ConfigurationError(f"{what} is not a URL: {value!r} ({exc})") from None
    if parts.scheme.lower() not in allowed or not parts.netloc:
        raise ConfigurationError(
            f"{what} must be an absolute {'/'.join(s + '://' for s in allowed)} URL, got {value!r}"
        )
    return value.strip()


def check_text(value: object, what: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty string, got {value!r}")
    return value


def check_choice(value: str | None, what: str, choices: Iterable[str]) -> str | None:
    """``None`` or one of ``choices``."""
    options = tuple(choices)
    if value is not None and value not in options:
        raise ConfigurationError(f"{what} must be one of {', '.join(options)}; got {value!r}")
    return value


def check_parameters(parameters: Mapping[str, object] | None, what: str) -> dict[str, str]:
    """Name -> value pairs of strings (numbers are written as text)."""
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise ConfigurationError(f"{what} must be a mapping of names to values")
    out: dict[str, str] = {}
    for name, value in parameters.items():
        check_text(name, f"{what} name")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigurationError(f"{what} {name!r} must be a string or number, got {value!r}")
        out[name] = str(value)
    return out


def element(
    tag: str, attributes: Mapping[str, object | None], text: str | None = None
) -> ET.Element:
    """An element with the non-``None`` attributes (booleans as ``true``/``false``)."""
    node = ET.Element(tag)
    for name, value in attributes.items():
        if value is not None:
            node.set(
                name, ("true" if value else "false") if isinstance(value, bool) else str(value)
            )
    node.text = text
    return node


def to_xml(root: ET.Element) -> str:
    """The document with its XML declaration (ElementTree escapes every value)."""
    return DECLARATION + ET.tostring(root, encoding="unicode")


# --- the TwiML family: Twilio TwiML, SignalWire cXML, Telnyx TeXML ------------------------------
# All three put the stream in ``<Response>`` as ``<Connect><Stream url=...>`` (bidirectional:
# the document blocks until the stream ends) or ``<Start><Stream url=...>`` (a unidirectional
# tap; the document goes on), with ``<Parameter name= value=/>`` children that arrive in the
# ``start`` message as custom parameters. Unlike Plivo, the URL is an attribute.

_TRACKS: Final = ("inbound_track", "outbound_track", "both_tracks")
_METHODS: Final = ("GET", "POST")
_VERBS: Final = {True: "Connect", False: "Start"}


def stream_document(
    bidirectional: bool, attributes: dict[str, object | None], parameters: dict[str, str]
) -> str:
    """``<Response><Connect|Start><Stream ...><Parameter .../>...`` as text."""
    if not isinstance(bidirectional, bool):
        raise ConfigurationError(f"bidirectional must be True or False, got {bidirectional!r}")
    root = element("Response", {})
    verb = element(_VERBS[bidirectional], {})
    stream = element("Stream", attributes)
    for name, value in parameters.items():
        stream.append(element("Parameter", {"name": name, "value": value}))
    verb.append(stream)
    root.append(verb)
    return to_xml(root)


def stream_attributes(
    url: str,
    name: str | None,
    track: str | None,
    status_callback: str | None,
    status_callback_method: str | None,
    schemes: tuple[str, ...] = ("wss",),
) -> dict[str, object | None]:
    """The ``<Stream>`` attributes the three dialects share, checked."""
    return {
        "url": check_url(url, "stream url", schemes),
        "name": None if name is None else check_text(name, "stream name"),
        "track": check_choice(track, "track", _TRACKS),
        "statusCallback": None
        if status_callback is None
        else check_url(status_callback, "status_callback", ("http", "https")),
        "statusCallbackMethod": check_choice(
            None if status_callback_method is None else status_callback_method.upper(),
            "status_callback_method",
            _METHODS,
        ),
    }
