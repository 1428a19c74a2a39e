"""The browser's role, played in Python: a tiny client of the conversation protocol over
trio_plivo.ws, and a front serving the talk page."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import attrs
import numpy as np
import trio

from trio_plivo import ConnectionClosed
from trio_plivo.call import CallHandler
from trio_plivo.server import StreamServer
from trio_plivo.web import PlivoFront
from trio_plivo.ws import WebSocket, connect_websocket

SECRET = "talk-token-never-logged-4f1c9e"


def tone(ms: int, rate: int = 16000, hz: float = 440.0) -> bytes:
    """PCM16 of a sine, ``ms`` long."""
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * hz * t) * 8000).astype("<i2").tobytes()


@asynccontextmanager
async def talk_front(
    handler: CallHandler, host: str = "127.0.0.1", **options: Any
) -> AsyncIterator[PlivoFront]:
    """A one-port front with the browser page, listening on ``host`` (port 0)."""
    front = PlivoFront(StreamServer(handler), browser=True, **options)
    async with trio.open_nursery() as nursery:
        await nursery.start(front.serve, host, 0)
        yield front
        front.shutdown()


@attrs.define(eq=False)
class BrowserClient:
    """What the page does, minus the audio devices."""

    ws: WebSocket
    #: Binary frames received and not yet taken.
    audio: list[bytes] = attrs.Factory(list)

    @classmethod
    async def connect(
        cls, port: int, query: str = "", headers: Mapping[str, str] | None = None
    ) -> BrowserClient:
        url = f"ws://127.0.0.1:{port}/talk/ws{query}"
        return cls(await connect_websocket(url, headers=dict(headers or {})))

    async def start(self, rate: int = 16000, **metadata: str) -> None:
        await self.send({"type": "start", "sampleRate": rate, "metadata": metadata})

    async def send(self, message: Mapping[str, Any]) -> None:
        await self.ws.send_messages([json.dumps(message)])

    async def send_raw(self, message: str | bytes) -> None:
        await self.ws.send_messages([message])

    async def next_command(self) -> dict[str, Any]:
        """The next JSON command; audio frames on the way are kept in :attr:`audio`."""
        while True:
            message = await self.ws.receive_message()
            if isinstance(message, bytes):
                self.audio.append(message)
                continue
            decoded: dict[str, Any] = json.loads(message)
            return decoded

    async def until_closed(self) -> tuple[list[str], ConnectionClosed]:
        """Every command type until the server closes, and the close."""
        types: list[str] = []
        while True:
            try:
                types.append((await self.next_command())["type"])
            except ConnectionClosed as closed:
                await self.ws.aclose()
                return types, closed

    async def hang_up(self) -> ConnectionClosed:
        await self.send({"type": "hangup"})
        return (await self.until_closed())[1]

    async def next_audio(self) -> bytes:
        while not self.audio:
            message = await self.ws.receive_message()
            if isinstance(message, str):
                raise AssertionError(f"expected audio, got {message}")
            self.audio.append(message)
        return self.audio.pop(0)
