"""The stream endpoint inside an existing Starlette app, served by Hypercorn's Trio worker.

The web app keeps its own routes; calls arrive on a WebSocket route (or a mounted ASGI app)
and run exactly as on ``trio-plivo serve``: the same StreamServer admits, counts and drains
them, checks Plivo's signature when given a validator, and lists them in ``server.calls``.

Needs: pip install 'trio-plivo[asgi]'   (Hypercorn and Starlette)
Run:   python examples/asgi_starlette.py [PORT]
Try:   trio-plivo simulate ws://127.0.0.1:8000/stream --dtmf 5@1 '*@2'
       curl http://127.0.0.1:8000/health
"""

from __future__ import annotations

import logging
import sys

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from trio_plivo.apps import echo
from trio_plivo.asgi import StreamASGIApp, serve_asgi_websocket
from trio_plivo.protocol import PROVIDERS
from trio_plivo.server import StreamServer

# One server object for every way in: admission (max_calls), the drain, the registry.
server = StreamServer(echo, codec_factory=PROVIDERS["auto"], max_calls=200)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"active_calls": server.active_calls, "draining": server.draining})


async def stream(websocket: WebSocket) -> None:
    # A route handler: hand the raw ASGI connection over (do not accept it first).
    await serve_asgi_websocket(websocket.scope, websocket.receive, websocket.send, server)


def make_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/health", health),
            WebSocketRoute("/stream", stream),  # ws://HOST/stream
            Mount("/mounted", app=StreamASGIApp(server)),  # or mounted: ws://HOST/mounted/...
        ]
    )


async def main(port: int) -> None:
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    await serve(make_app(), config)  # Hypercorn's Trio worker; Ctrl-C stops it


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
