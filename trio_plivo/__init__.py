"""trio-plivo: Trio-native real-time phone-call audio streams.

The sans-IO parts (errors, formats) are imported eagerly; the I/O layers (calls, the server)
load on first use, so ``import trio_plivo.audio`` or ``trio_plivo.protocol`` never pulls in
trio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._exceptions import (
    CallClosed,
    CallRefused,
    ConfigurationError,
    ConnectionClosed,
    LocalProtocolError,
    PlivoAPIError,
    ProtocolError,
    RemoteProtocolError,
    TrioPlivoError,
)
from ._format import L16_8K, L16_16K, MULAW_8K, AudioFormat, Encoding

if TYPE_CHECKING:
    from .call import (
        Call,
        CallConfig,
        CallHooks,
        CallStatistics,
        Mark,
        MarkResult,
        MarkStatus,
        open_call,
        serve_call,
    )
    from .server import StreamServer, serve

__version__ = "0.1.0"

_LAZY = {
    "Call": "call",
    "CallConfig": "call",
    "CallHooks": "call",
    "CallStatistics": "call",
    "Mark": "call",
    "MarkResult": "call",
    "MarkStatus": "call",
    "open_call": "call",
    "serve_call": "call",
    "StreamServer": "server",
    "serve": "server",
}

__all__ = [
    "L16_8K",
    "L16_16K",
    "MULAW_8K",
    "AudioFormat",
    "Call",
    "CallClosed",
    "CallRefused",
    "CallConfig",
    "CallHooks",
    "CallStatistics",
    "ConfigurationError",
    "ConnectionClosed",
    "Encoding",
    "LocalProtocolError",
    "Mark",
    "MarkResult",
    "MarkStatus",
    "PlivoAPIError",
    "ProtocolError",
    "RemoteProtocolError",
    "StreamServer",
    "TrioPlivoError",
    "open_call",
    "serve",
    "serve_call",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trio_plivo' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
