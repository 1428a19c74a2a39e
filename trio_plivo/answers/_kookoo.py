"""KooKoo / Ozonetel IVR answer: ``<response><stream is_sip="true" url=...>NUMBER</stream>``.

The element's text is the SIP number (or DID) the stream is bridged through, the URL is an
attribute, and ``x-uui`` carries a JSON object that arrives on the stream as ``x_headers``
(:attr:`Start.extra_headers`). Single-source protocol: UNCONFIRMED beyond what
``../shared/protocols.md`` §7 records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from .._exceptions import ConfigurationError
from ._common import check_url, element, to_xml

__all__ = ["kookoo_stream"]

_NUMBER: Final = re.compile(r"\+?[0-9A-Za-z_.@-]+")


def kookoo_stream(
    url: str,
    number: str,
    *,
    is_sip: bool = True,
    x_uui: Mapping[str, Any] | None = None,
) -> str:
    """The KooKoo XML streaming the call to ``url`` (``ws://``/``wss://``) via ``number``."""
    if not isinstance(number, str) or not _NUMBER.fullmatch(number):
        raise ConfigurationError(f"number must be a SIP number or DID, got {number!r}")
    if not isinstance(is_sip, bool):
        raise ConfigurationError(f"is_sip must be True or False, got {is_sip!r}")
    uui = None
    if x_uui is not None:
        try:
            uui = json.dumps(dict(x_uui), separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"x_uui must be JSON-serialisable: {exc}") from None
    root = element("response", {})
    root.append(
        element(
            "stream",
            {"is_sip": is_sip, "url": check_url(url, "stream url", ("ws", "wss")), "x-uui": uui},
            number,
        )
    )
    return to_xml(root)
