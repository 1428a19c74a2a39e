"""Helpers for the ASGI tests: Hypercorn's Trio worker in the test's own nursery, a Starlette
app with the stream endpoint mounted twice, and an in-memory ASGI server for unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute

from trio_plivo import ConnectionClosed
from trio_plivo.asgi import StreamASGIApp, serve_asgi_websocket
from trio_plivo.server import StreamServer
from trio_plivo.transport import Message


async def eventually(predicate: Callable[[], object], what: str, within: float = 10.0) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``within`` s."""
    deadline = trio.current_time() + within
    while not predicate():
        if trio.current_time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await trio.sleep(0.01)


def starlette_app(server: StreamServer) -> Starlette:
    """A web app with its own page, the stream endpoint as a route handler at
    ``/route/stream`` and mounted as an ASGI app at ``/mounted/...``."""

    async def health(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "active_calls": server.active_calls})

    async def stream(websocket: Any) -> None:
        await serve_asgi_websocket(websocket.scope, websocket.receive, websocket.send, server)

    return Starlette(
        routes=[
            Route("/health", health),
            WebSocketRoute("/route/stream", stream),
            Mount("/mounted", app=StreamASGIApp(server)),
        ]
    )


@asynccontextmanager
async def running_hypercorn(app: Any) -> AsyncIterator[int]:
    """Serve ``app`` with Hypercorn's Trio worker on a free loopback port; yield the port.
    Shut down gracefully on exit."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1.0
    stop = trio.Event()

    async def serve(task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        await hypercorn_serve(app, config, shutdown_trigger=stop.wait, task_status=task_status)

    async with trio.open_nursery() as nursery:
        bound = await nursery.start(serve)
        yield int(bound[0].rsplit(":", 1)[1])
        stop.set()


def websocket_scope(
    path: str = "/stream",
    *,
    query: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
    denial_extension: bool = True,
) -> dict[str, Any]:
    """A websocket scope as Hypercorn builds one."""
    return {
        "type": "websocket",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"bot.example.com"), *headers],
        "client": ("203.0.113.7", 40123),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}} if denial_extension else {},
    }


class FakeASGIServer:
    """The server side of one ASGI connection, in memory: the app gets :meth:`receive` and
    :meth:`send`; the test pushes events with :meth:`push` and reads the app's with
    :meth:`next_sent`. :meth:`client` is the provider's end as a MessageTransport, so the
    simulator can drive a call through it."""

    def __init__(self) -> None:
        # Roomy buffers: a side that stopped reading (a closed peer) never blocks the other.
        self._to_app_send, self._to_app = trio.open_memory_channel[MutableMapping[str, Any]](4096)
        self._from_app_send, self._from_app = trio.open_memory_channel[MutableMapping[str, Any]](
            4096
        )
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> MutableMapping[str, Any]:
        return await self._to_app.receive()

    async def send(self, event: MutableMapping[str, Any]) -> None:
        self.sent.append(event)
        await self._from_app_send.send(event)

    async def push(self, event: MutableMapping[str, Any]) -> None:
        await self._to_app_send.send(event)

    async def next_sent(self) -> MutableMapping[str, Any]:
        return await self._from_app.receive()

    def client(self) -> FakeASGIClient:
        return FakeASGIClient(self)


class FakeASGIClient:
    """The provider's end of a :class:`FakeASGIServer` connection (a MessageTransport): it
    connects, waits for the accept, then exchanges ``websocket.receive`` / ``websocket.send``."""

    def __init__(self, server: FakeASGIServer) -> None:
        self.server = server
        self.accepted = False
        self.close_code: int | None = None

    async def _connect(self) -> None:
        if not self.accepted:
            await self.server.push({"type": "websocket.connect"})
            event = await self.server.next_sent()
            if event["type"] != "websocket.accept":
                self.close_code = 403
                raise ConnectionClosed("refused", code=403)
            self.accepted = True

    async def receive_message(self) -> Message:
        await self._connect()
        if self.close_code is not None:
            raise ConnectionClosed("closed", code=self.close_code)
        event = await self.server.next_sent()
        if event["type"] == "websocket.close":
            self.close_code = event.get("code", 1000)
            await self.server.push({"type": "websocket.disconnect", "code": self.close_code})
            raise ConnectionClosed(event.get("reason") or "closed", code=self.close_code)
        return event.get("text") if event.get("text") is not None else event["bytes"]

    async def send_messages(self, messages: Sequence[Message]) -> None:
        await self._connect()
        if self.close_code is not None:
            raise ConnectionClosed("closed", code=self.close_code)
        for message in messages:
            key = "text" if isinstance(message, str) else "bytes"
            await self.server.push({"type": "websocket.receive", key: message})

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code = code
            await self.server.push({"type": "websocket.disconnect", "code": code})
        await trio.lowlevel.checkpoint()
