"""Deepgram streaming speech-to-text over one WebSocket per call.

``wss://api.deepgram.com/v1/listen?encoding=linear16&sample_rate=16000&...`` with
``Authorization: Token <key>``. Caller audio goes out as binary messages while the caller
talks; at the end of the turn (our VAD decides it) the agent sends ``{"type": "Finalize"}``
and Deepgram answers with the remaining final ``Results`` (the last one flagged
``from_finalize``). ``{"type": "KeepAlive"}`` keeps the socket open between turns (Deepgram
closes it after about 10 s without audio) and ``{"type": "CloseStream"}`` ends it with the
call. The socket is opened at the first utterance and again after a failure.

Messages read (``type: "Results"``)::

    {"type": "Results", "is_final": true, "speech_final": false, "from_finalize": false,
     "channel": {"alternatives": [{"transcript": "hello there", "confidence": 0.98}]}}
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Final
from urllib.parse import urlencode

import trio

from ..._exceptions import ConfigurationError, TrioPlivoError
from ...transport import MessageTransport
from .._errors import ProviderError
from ._http import api_key_from, scrub

__all__ = ["DeepgramSTT"]

logger = logging.getLogger("trio_plivo.agent.deepgram")

DEEPGRAM_URL: Final = "wss://api.deepgram.com/v1/listen"

#: Opens a WebSocket: ``(url, headers) -> transport`` (tests pass a loopback or memory one).
Connector = Callable[[str, Mapping[str, str]], Awaitable[MessageTransport]]


async def _connect_websocket(url: str, headers: Mapping[str, str]) -> MessageTransport:
    from ...ws import connect_websocket

    return await connect_websocket(url, headers=headers)


class DeepgramSTT:
    """Deepgram live transcription (the key from ``DEEPGRAM_API_KEY``)."""

    name = "deepgram"

    def __init__(
        self,
        model: str = "nova-3",
        *,
        language: str = "en",
        sample_rate: int = 16000,
        api_key: str | None = None,
        url: str = DEEPGRAM_URL,
        params: Mapping[str, str] | None = None,
        keepalive_s: float = 5.0,
        finalize_timeout: float = 3.0,
        connect: Connector = _connect_websocket,
    ) -> None:
        if sample_rate not in (8000, 16000):
            raise ConfigurationError(f"DeepgramSTT runs at 8000 or 16000 Hz, not {sample_rate}")
        self._key = api_key_from(api_key, "DEEPGRAM_API_KEY", self.name)
        query = {
            "encoding": "linear16",
            "sample_rate": str(sample_rate),
            "channels": "1",
            "model": model,
            "language": language,
            "punctuate": "true",
            "smart_format": "true",
            "interim_results": "false",
            **dict(params or {}),
        }
        self.url = f"{url}?{urlencode(query)}"
        self.sample_rate = sample_rate
        self.keepalive_s = keepalive_s
        self.finalize_timeout = finalize_timeout
        self._connect = connect

    def __repr__(self) -> str:
        return f"<DeepgramSTT {self.url}>"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_Session]:
        async with trio.open_nursery() as nursery:
            session = _Session(self, nursery)
            try:
                yield session
            finally:
                with trio.CancelScope(shield=True):
                    await session.aclose()
                nursery.cancel_scope.cancel()

    def _error(self, message: str) -> ProviderError:
        return ProviderError(self.name, scrub(message, self._key))


class _Session:
    """One call's Deepgram socket, its reader task and its keep-alive task."""

    def __init__(self, service: DeepgramSTT, nursery: trio.Nursery) -> None:
        self._service = service
        self._nursery = nursery
        self._socket: MessageTransport | None = None
        self._scope: trio.CancelScope | None = None
        self._parts: list[str] = []
        self._finalized = trio.Event()
        self._failure: str | None = None
        self._last_sent = 0.0

    async def transcribe(self, audio: AsyncIterable[bytes]) -> str:
        service = self._service
        socket = await self._open()
        self._parts = []
        self._finalized = trio.Event()
        try:
            async for chunk in audio:
                if chunk:
                    await socket.send_messages([chunk])
                    self._last_sent = trio.current_time()
            await socket.send_messages([json.dumps({"type": "Finalize"})])
        except TrioPlivoError as exc:
            self._drop(f"send failed: {exc}")
            raise service._error(f"connection lost: {exc}") from exc
        with trio.move_on_after(service.finalize_timeout):
            await self._finalized.wait()
        if self._failure is not None and not self._parts:
            message, self._failure = self._failure, None
            raise service._error(message)
        return " ".join(part for part in self._parts if part).strip()

    async def _open(self) -> MessageTransport:
        if self._socket is not None:
            return self._socket
        service = self._service
        headers = {"Authorization": f"Token {service._key}"}
        try:
            socket = await service._connect(service.url, headers)
        except (OSError, TrioPlivoError) as exc:
            raise service._error(f"cannot connect: {exc}") from exc
        self._socket = socket
        self._failure = None
        self._last_sent = trio.current_time()
        self._scope = trio.CancelScope()
        self._nursery.start_soon(self._run, socket, self._scope, name="trio_plivo.agent.deepgram")
        return socket

    async def _run(self, socket: MessageTransport, scope: trio.CancelScope) -> None:
        with scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keep_alive, socket)
                try:
                    await self._read(socket)
                finally:
                    nursery.cancel_scope.cancel()

    async def _read(self, socket: MessageTransport) -> None:
        while True:
            try:
                message = await socket.receive_message()
            except TrioPlivoError as exc:
                self._drop(f"connection closed: {exc}")
                return
            try:
                data = json.loads(message)
            except ValueError:
                logger.warning("deepgram: ignored a message that is not JSON")
                continue
            if not isinstance(data, dict):
                continue
            kind = data.get("type")
            if kind == "Results":
                if data.get("is_final"):
                    alternatives = (data.get("channel") or {}).get("alternatives") or [{}]
                    self._parts.append(str(alternatives[0].get("transcript") or ""))
                if data.get("from_finalize"):
                    self._finalized.set()
            elif kind == "Error" or "err_code" in data:
                self._drop(f"error message: {data.get('description') or data.get('err_msg')}")
                return

    async def _keep_alive(self, socket: MessageTransport) -> None:
        interval = self._service.keepalive_s
        message = json.dumps({"type": "KeepAlive"})
        while True:
            await trio.sleep_until(self._last_sent + interval)
            if trio.current_time() >= self._last_sent + interval:
                with suppress(TrioPlivoError):
                    await socket.send_messages([message])
                self._last_sent = trio.current_time()

    def _drop(self, why: str) -> None:
        """The socket failed: forget it (the next utterance reconnects)."""
        self._failure = why
        self._finalized.set()
        socket, self._socket = self._socket, None
        if self._scope is not None:
            self._scope.cancel()
        if socket is not None:
            self._nursery.start_soon(_close_quietly, socket, "")

    async def aclose(self) -> None:
        socket, self._socket = self._socket, None
        if self._scope is not None:
            self._scope.cancel()
        if socket is not None:
            await _close_quietly(socket, json.dumps({"type": "CloseStream"}))


async def _close_quietly(socket: MessageTransport, goodbye: str) -> None:
    with trio.move_on_after(2.0):
        with suppress(TrioPlivoError):
            if goodbye:
                await socket.send_messages([goodbye])
            await socket.aclose(1000)
