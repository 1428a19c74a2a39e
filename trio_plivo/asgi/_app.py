"""The stream endpoint as an ASGI application, to mount in an existing web app."""

from __future__ import annotations

from typing import Any

import orjson

from ..call import CallHandler
from ..protocol import PROVIDERS
from ..server import StreamServer
from ..ws import HTTPResponse
from ._serve import refuse, serve_asgi_websocket
from ._transport import ASGIReceive, ASGIScope, ASGISend, ASGIWebSocketTransport, handshake_request

__all__ = ["StreamASGIApp"]


class StreamASGIApp:
    """An ASGI application serving provider WebSockets as calls: mount it in Starlette
    (``Mount("/stream", app=StreamASGIApp(handler))``), FastAPI (``app.mount``), Quart-Trio,
    or serve it alone with Hypercorn's Trio worker.

    ``app`` is a :class:`~trio_plivo.server.StreamServer` (its admission, signature check,
    hooks, registry and counters apply as on its own port; it need not listen anywhere) or a
    call handler, for which a server is made with ``options`` (``StreamServer`` fields:
    ``config``, ``max_calls``, ``signature_validator``, ``on_connect`` ...) and the provider
    detected from each stream's first messages unless ``codec_factory`` says otherwise.

    Each WebSocket runs through :func:`serve_asgi_websocket`. With ``path``, only that request
    path (the full path, mount prefix included) is served and other WebSockets are refused
    with 404 before the upgrade. Plain HTTP gets a JSON error: 404 for another path, 405 for a
    method other than GET, else 426 (upgrade required), as the native server answers. Served
    alone, the app speaks the lifespan protocol: the server's shutdown starts a drain
    (:meth:`~trio_plivo.server.StreamServer.shutdown`: new calls get 503); calls in progress
    end with the ASGI server's own graceful shutdown (Hypercorn: ``graceful_timeout``).
    """

    __slots__ = ("path", "server", "subprotocol")

    def __init__(
        self,
        app: StreamServer | CallHandler,
        *,
        path: str | None = None,
        subprotocol: str | None = None,
        **options: Any,
    ) -> None:
        if isinstance(app, StreamServer):
            if options:
                raise TypeError(f"options go on the StreamServer itself: {sorted(options)}")
            server = app
        else:
            options.setdefault("codec_factory", PROVIDERS["auto"])
            server = StreamServer(app, **options)
        #: The server whose calls these are (``server.calls``, ``server.active_calls`` ...).
        self.server: StreamServer = server
        #: The one request path served, or ``None`` for any path the app is mounted on.
        self.path = path
        #: The WebSocket subprotocol to accept with (``None``: none).
        self.subprotocol = subprotocol

    def __repr__(self) -> str:
        return f"<StreamASGIApp path={self.path!r} handler={self.server.handler!r}>"

    async def __call__(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        """The ASGI entry point."""
        kind = scope.get("type")
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http":
            await self._http(scope, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise ValueError(f"unsupported ASGI scope type {kind!r}")

    async def _websocket(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        if self.path is not None and scope.get("path") != self.path:
            transport = ASGIWebSocketTransport(scope, receive, send)
            not_found = HTTPResponse(404, b"not found\n")
            await refuse(self.server, transport, handshake_request(scope), not_found)
            return
        await serve_asgi_websocket(scope, receive, send, self.server, subprotocol=self.subprotocol)

    async def _http(self, scope: ASGIScope, send: ASGISend) -> None:
        headers: list[tuple[bytes, bytes]] = []
        if self.path is not None and scope.get("path") != self.path:
            status, error = 404, "not found"
        elif scope.get("method") not in ("GET", "HEAD"):
            status, error = 405, "method not allowed: this endpoint takes WebSocket upgrades"
            headers.append((b"allow", b"GET"))
        else:
            status, error = 426, "upgrade required: this endpoint takes WebSocket upgrades"
            headers += [(b"upgrade", b"websocket"), (b"connection", b"Upgrade")]
        body = orjson.dumps({"error": error})
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: ASGIReceive, send: ASGISend) -> None:
        while True:
            event = await receive()
            if event.get("type") == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event.get("type") == "lifespan.shutdown":
                self.server.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
