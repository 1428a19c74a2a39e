"""Where signature headers come from: the header collections both providers' validators read.

Servers hand us headers in many shapes (a dict, ``trio_plivo.ws.Headers``, ``httpx.Headers``,
Starlette's ``Headers``, trio-websocket's ``(bytes, bytes)`` pairs); every validator takes
any of them and looks names up case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, TypeAlias, runtime_checkable

__all__ = ["HeaderSource", "SupportsHeaderGet", "header_value"]


@runtime_checkable
class SupportsHeaderGet(Protocol):
    """A case-insensitive header collection (``trio_plivo.ws.Headers``, ``httpx.Headers``,
    Starlette's ``Headers`` ...): ``get(name)`` returns the first value or ``None``."""

    def get(self, name: str, /) -> str | None: ...


#: Where request headers can come from: a mapping (looked up case-insensitively), a
#: case-insensitive header object, or ``(name, value)`` pairs (``str`` or ``bytes``, as
#: trio-websocket and h11 give them).
HeaderSource: TypeAlias = (
    Mapping[str, str] | SupportsHeaderGet | Iterable[tuple[str, str] | tuple[bytes, bytes]]
)


def _decode(text: str | bytes) -> str:
    return text.decode("latin-1") if isinstance(text, bytes) else text


def header_value(headers: HeaderSource, name: str) -> str | None:
    """The first value of header ``name`` in ``headers`` (any case), or ``None``."""
    wanted = name.lower()
    if isinstance(headers, Mapping):
        value = headers.get(name)
        if value is not None:
            return value
        # A plain dict is case-sensitive; HTTP header names are not.
        for key, item in headers.items():
            if key.lower() == wanted:
                return item
        return None
    if isinstance(headers, SupportsHeaderGet):
        return headers.get(name)
    for key, item in headers:
        if _decode(key).lower() == wanted:
            return _decode(item)
    return None
