"""The stream endpoint inside an existing ASGI web app (Starlette, FastAPI on Trio via AnyIO,
Quart-Trio), served by an ASGI server with a Trio worker (Hypercorn's).

ASGI is a protocol, so this needs no dependency: it works on the raw ``scope``, ``receive``
and ``send`` any ASGI server hands an application. Every call goes through a
:class:`~trio_plivo.server.StreamServer` (:meth:`~trio_plivo.server.StreamServer.handle_transport`),
so admission (``max_calls``), counting, the drain, the registry, ``on_connect`` hooks and the
Plivo signature check behave as on the native server's own port.

* :class:`StreamASGIApp` -- an ASGI application to mount (``Mount("/stream", app=...)``) or
  to serve alone;
* :func:`serve_asgi_websocket` -- for a framework's WebSocket route handler (Starlette:
  ``await serve_asgi_websocket(websocket.scope, websocket.receive, websocket.send, server)``);
* :class:`ASGIWebSocketTransport` -- the :class:`~trio_plivo.transport.MessageTransport` under
  both, for running a call on an ASGI connection yourself.

In a Starlette app (FastAPI: ``app.mount``), served by Hypercorn's Trio worker
(``hypercorn.trio.serve(app, config)``)::

    from starlette.applications import Starlette
    from starlette.routing import Mount, WebSocketRoute

    from trio_plivo.asgi import StreamASGIApp, serve_asgi_websocket
    from trio_plivo.server import StreamServer

    server = StreamServer(handler, max_calls=200)

    async def stream(websocket):  # a route handler: do not accept the WebSocket first
        await serve_asgi_websocket(websocket.scope, websocket.receive, websocket.send, server)

    app = Starlette(
        routes=[
            WebSocketRoute("/stream", stream),
            Mount("/calls", app=StreamASGIApp(server)),  # or mounted: ws://HOST/calls/...
        ]
    )

The native server (:func:`trio_plivo.serve`) stays the fast path: each frame through an ASGI
server costs more server CPU (measured side by side by ``nox -s bench``, ``bench_asgi``).
"""

from __future__ import annotations

from ._app import StreamASGIApp
from ._serve import serve_asgi_websocket
from ._transport import (
    ASGIReceive,
    ASGIScope,
    ASGISend,
    ASGIWebSocketTransport,
    handshake_request,
)

__all__ = [
    "ASGIReceive",
    "ASGIScope",
    "ASGISend",
    "ASGIWebSocketTransport",
    "StreamASGIApp",
    "handshake_request",
    "serve_asgi_websocket",
]
