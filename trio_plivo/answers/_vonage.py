"""Vonage NCCO: connect the call to a WebSocket endpoint.

``[{"action":"connect","endpoint":[{"type":"websocket","uri":...,"content-type":...,
"headers":{...}}]}]``. The headers come back flattened into ``websocket:connected`` (at most
512 bytes); put the call's id in them (``{"uuid": ...}``) to see it on the stream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from .._exceptions import ConfigurationError
from .._format import AudioFormat, Encoding
from ._common import check_url

__all__ = ["vonage_ncco", "vonage_ncco_json"]

_RATES: Final = (8000, 16000, 24000)
_MAX_HEADER_BYTES: Final = 512


def vonage_ncco(
    uri: str,
    *,
    content_type: str | AudioFormat = "audio/l16;rate=16000",
    headers: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The NCCO (a JSON-ready list) connecting the call to ``uri`` (``ws://``/``wss://``).

    ``content_type`` is ``audio/l16;rate=8000|16000|24000`` (or an L16 :class:`AudioFormat`);
    ``headers`` must be JSON-serialisable and at most 512 bytes as JSON.
    """
    fmt = (
        content_type
        if isinstance(content_type, AudioFormat)
        else AudioFormat.from_content_type(content_type)
    )
    if fmt.encoding is not Encoding.L16 or fmt.sample_rate not in _RATES:
        raise ConfigurationError(
            f"Vonage WebSockets stream audio/l16 at {_RATES} Hz, not {content_type!r}"
        )
    endpoint: dict[str, Any] = {
        "type": "websocket",
        "uri": check_url(uri, "websocket uri", ("ws", "wss")),
        "content-type": f"audio/l16;rate={fmt.sample_rate}",
    }
    if headers:
        if not isinstance(headers, Mapping) or not all(isinstance(k, str) for k in headers):
            raise ConfigurationError("headers must be a mapping with string keys")
        try:
            encoded = json.dumps(dict(headers), separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"headers must be JSON-serialisable: {exc}") from None
        if len(encoded.encode()) > _MAX_HEADER_BYTES:
            raise ConfigurationError(
                f"headers are {len(encoded.encode())} bytes as JSON; Vonage allows {_MAX_HEADER_BYTES}"
            )
        endpoint["headers"] = dict(headers)
    return [{"action": "connect", "endpoint": [endpoint]}]


def vonage_ncco_json(uri: str, **options: Any) -> str:
    """:func:`vonage_ncco` as JSON text (serve with ``Content-Type: application/json``)."""
    return json.dumps(vonage_ncco(uri, **options))
