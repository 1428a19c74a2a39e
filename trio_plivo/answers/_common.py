"""Checks shared by the answer documents: everything is validated when a document is built."""

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
