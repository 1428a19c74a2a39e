"""trio-plivo: Trio-native real-time phone-call audio streams.

The public API is re-exported here; implementation lives in private modules.
"""

from __future__ import annotations

from ._exceptions import (
    CallClosed,
    ConfigurationError,
    ConnectionClosed,
    LocalProtocolError,
    PlivoAPIError,
    ProtocolError,
    RemoteProtocolError,
    TrioPlivoError,
)
from ._format import L16_8K, L16_16K, MULAW_8K, AudioFormat, Encoding

__version__ = "0.1.0"

__all__ = [
    "L16_8K",
    "L16_16K",
    "MULAW_8K",
    "AudioFormat",
    "CallClosed",
    "ConfigurationError",
    "ConnectionClosed",
    "Encoding",
    "LocalProtocolError",
    "PlivoAPIError",
    "ProtocolError",
    "RemoteProtocolError",
    "TrioPlivoError",
]
