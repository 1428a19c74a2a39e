"""The built-in echo app served through :mod:`trio_plivo.asgi` by Hypercorn's Trio worker,
for ``bench_asgi`` (the same app as ``trio-plivo serve echo``, another way in).

    python -m bench.asgi_echo_server --port 8765                  # StreamASGIApp alone
    python -m bench.asgi_echo_server --port 8765 --via starlette  # a Starlette route handler

Prints ``listening on ws://127.0.0.1:PORT/stream`` once ready. One line per call start and
end is logged, as ``trio-plivo serve`` does; Hypercorn's access log is off (so is the CLI's).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from trio_plivo.apps import echo
from trio_plivo.asgi import StreamASGIApp, serve_asgi_websocket


def build_app(via: str) -> Any:
    """``app``: the stream endpoint as the whole ASGI app; ``starlette``: a Starlette app whose
    WebSocket route calls :func:`serve_asgi_websocket` (Starlette's receive/send wrappers)."""
    # Any path: the load generator may address ``/`` when it sees the port open first.
    stream = StreamASGIApp(echo)
    if via == "app":
        return stream
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    async def route(websocket: Any) -> None:
        await serve_asgi_websocket(
            websocket.scope, websocket.receive, websocket.send, stream.server
        )

    return Starlette(routes=[WebSocketRoute("/{path:path}", route)])


async def run(port: int, via: str) -> None:
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(_serve, build_app(via), config)
        host_port = addresses[0].removeprefix("http://")
        print(f"listening on ws://{host_port}/stream", flush=True)


async def _serve(
    app: Any, config: Config, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
) -> None:
    await serve(app, config, task_status=task_status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--via", choices=["app", "starlette"], default="app")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    trio.run(run, args.port, args.via)


if __name__ == "__main__":
    main()
