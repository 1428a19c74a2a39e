"""A thin, fast WebSocket driver for Trio over the ``websockets`` sans-IO protocol.

No background tasks: the task that receives reads the socket, the task that sends writes it.
Server role: :func:`accept_websocket` on an accepted stream (with a ``route`` deciding, before
the upgrade, whether to answer with plain HTTP instead). Client role: :func:`connect_websocket`
(or :func:`connect_websocket_stream` on a stream you already have). Both give a
:class:`WebSocket`, which satisfies :class:`trio_plivo.transport.MessageTransport`.
"""

from __future__ import annotations

from ._client import connect_websocket, connect_websocket_stream
from ._connection import WebSocket
from ._headers import Headers
from ._server import Route, accept_websocket
from ._types import HandshakeRequest, HTTPResponse, WebSocketHandshakeError

__all__ = [
    "HTTPResponse",
    "HandshakeRequest",
    "Headers",
    "Route",
    "WebSocket",
    "WebSocketHandshakeError",
    "accept_websocket",
    "connect_websocket",
    "connect_websocket_stream",
]
