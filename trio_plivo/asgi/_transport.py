"""A :class:`~trio_plivo.transport.MessageTransport` over an ASGI WebSocket connection."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Final

import orjson
import trio

from .._exceptions import ConnectionClosed
from ..transport import Message
from ..ws import HandshakeRequest, Headers

__all__ = [
    "ASGIReceive",
    "ASGIScope",
    "ASGISend",
    "ASGIWebSocketTransport",
    "handshake_request",
]

#: An ASGI connection scope (``scope["type"]`` is ``"websocket"`` for a WebSocket).
ASGIScope = MutableMapping[str, Any]
#: The ASGI ``receive`` callable: the next event from the server.
ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
#: The ASGI ``send`` callable: one event to the server.
ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: The ASGI extension that lets an application answer an upgrade with its own HTTP response.
_DENIAL_EXTENSION: Final = "websocket.http.response"
#: A refusal's close code -> the HTTP status of the denial response that carries it instead,
#: before the WebSocket is accepted (anything else is a 403, as ASGI servers answer a close).
_DENIAL_STATUS: Final = {1013: 503, 1011: 500}
#: The code a closed connection reports when the server gave none (ASGI's default).
_NO_STATUS: Final = 1005


def handshake_request(scope: ASGIScope) -> HandshakeRequest:
    """The WebSocket upgrade request an ASGI ``scope`` describes, as the native server gives
    it to ``on_connect`` hooks and signature checks: method, target (the path as the client
    sent it, ``raw_path`` when the server provides it, plus the query), headers and peer."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else str(scope.get("path") or "/")
    path = path.partition("?")[0]  # servers that keep the query in raw_path
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    headers = Headers(
        (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
        for name, value in scope.get("headers") or ()
    )
    client = scope.get("client")
    remote = (str(client[0]), int(client[1])) if client else None
    return HandshakeRequest(
        method="GET",
        target=f"{path}?{query}" if query else path,
        path=path,
        query=query,
        headers=headers,
        remote=remote,
    )


class ASGIWebSocketTransport:
    """Runs a call over an ASGI WebSocket connection: the ``scope``, ``receive`` and ``send``
    an ASGI server (Hypercorn's Trio worker) hands an application, or a framework's route.

    It accepts the WebSocket on first use (:meth:`receive_message`, :meth:`send_messages`),
    or when :meth:`accept` is awaited. Closing it before then refuses the connection before the
    upgrade instead: with an HTTP response where the server supports ASGI's
    ``websocket.http.response`` extension (503 for code 1013, "try again later"; 403 for
    others), else with a ``websocket.close`` (the server answers 403). After the accept,
    :meth:`aclose` sends ``websocket.close`` with the code and reason.

    ``websocket.disconnect`` raises :class:`~trio_plivo.ConnectionClosed` with the code the
    server reports (Hypercorn reports 1006 for any close the client started, 1000 after ours).
    Sending after the peer left raises ``ConnectionClosed`` too. Text messages arrive as
    ``str``, binary ones as ``bytes``. The size limit is the server's (Hypercorn:
    ``websocket_max_message_size``). Do not accept the connection yourself first (a Starlette
    ``websocket.accept()``): the transport waits for the ASGI ``websocket.connect`` event.
    """

    __slots__ = (
        "_accept_lock",
        "_accepted",
        "_closed",
        "_receive",
        "_scope",
        "_send",
        "subprotocol",
    )

    def __init__(
        self,
        scope: ASGIScope,
        receive: ASGIReceive,
        send: ASGISend,
        *,
        subprotocol: str | None = None,
    ) -> None:
        if scope.get("type") != "websocket":
            raise ValueError(f"not a websocket scope: {scope.get('type')!r}")
        self._scope = scope
        self._receive = receive
        self._send = send
        #: The subprotocol to name in the accept (``None``: none).
        self.subprotocol = subprotocol
        self._accepted = False
        self._closed: tuple[int, str] | None = None
        self._accept_lock = trio.Lock()

    def __repr__(self) -> str:
        # The scope holds the request's headers (a signature, tokens): never shown.
        state = "closed" if self._closed else "open" if self._accepted else "connecting"
        return f"<ASGIWebSocketTransport {state} {self._scope.get('path', '')!r}>"

    @property
    def accepted(self) -> bool:
        """Whether the WebSocket was accepted (the server sent its 101)."""
        return self._accepted

    @property
    def close_code(self) -> int | None:
        """The close code once closed by either side (``None`` while open or connecting)."""
        return None if self._closed is None else self._closed[0]

    async def accept(self) -> None:
        """Wait for the server's ``websocket.connect`` and accept the WebSocket; a no-op once
        accepted. Raises :class:`~trio_plivo.ConnectionClosed` when the client left first or
        the connection was already closed."""
        if self._accepted:
            await trio.lowlevel.checkpoint()
            return
        async with self._accept_lock:
            if self.accepted:  # by another task while this one waited for the lock
                return
            self._raise_if_closed()
            event = await self._receive()
            kind = event.get("type")
            if kind == "websocket.disconnect":
                raise self._disconnected(event)
            if kind != "websocket.connect":
                self._closed = (1006, f"unexpected ASGI event {kind!r}")
                raise ConnectionClosed(self._closed[1], code=1006)
            accept: dict[str, Any] = {"type": "websocket.accept"}
            if self.subprotocol is not None:
                accept["subprotocol"] = self.subprotocol
            await self._send_or_closed(accept)
            self._accepted = True

    async def receive_message(self) -> Message:
        """The next message (``str`` for text, ``bytes`` for binary); accepts first if needed.
        Raises :class:`~trio_plivo.ConnectionClosed` once the connection is closed."""
        if not self._accepted:
            await self.accept()
        self._raise_if_closed()
        while True:
            event = await self._receive()
            kind = event.get("type")
            if kind == "websocket.receive":
                text = event.get("text")
                if text is not None:
                    return str(text)
                data = event.get("bytes")
                if data is not None:
                    return bytes(data)
            elif kind == "websocket.disconnect":
                raise self._disconnected(event)
            # anything else (an empty receive, an unknown event) carries no message

    async def send_messages(self, messages: Sequence[Message]) -> None:
        """Send ``messages`` in order, one ``websocket.send`` each (ASGI has no batching);
        accepts first if needed. Raises :class:`~trio_plivo.ConnectionClosed` once closed."""
        if not self._accepted:
            await self.accept()
        self._raise_if_closed()
        for message in messages:
            if isinstance(message, str):
                await self._send_or_closed({"type": "websocket.send", "text": message})
            else:
                await self._send_or_closed({"type": "websocket.send", "bytes": bytes(message)})

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason``: ``websocket.close`` once accepted, a refusal
        before (see the class docstring). Idempotent; a peer already gone is not an error."""
        if self._closed is not None:
            await trio.lowlevel.checkpoint()
            return
        self._closed = (code, reason)
        if not self._accepted:
            await self._deny(_DENIAL_STATUS.get(code, 403), reason or "refused", code)
            return
        close: dict[str, Any] = {"type": "websocket.close", "code": code}
        if reason:
            close["reason"] = reason
        await self._send_quietly(close)

    async def deny(self, status: int, reason: str) -> None:
        """Refuse the connection before the upgrade with HTTP ``status`` and a JSON body
        ``{"error": reason}`` (a ``websocket.close``, so a 403, where the server lacks the
        ``websocket.http.response`` extension). Only before :meth:`accept`; afterwards, use
        :meth:`aclose`. Idempotent with :meth:`aclose`."""
        if self._accepted:
            raise RuntimeError("deny() after the WebSocket was accepted; use aclose()")
        if self._closed is not None:
            await trio.lowlevel.checkpoint()
            return
        self._closed = (1008, reason)
        await self._deny(status, reason, 1008)

    async def _deny(self, status: int, reason: str, code: int) -> None:
        extensions = self._scope.get("extensions") or {}
        if _DENIAL_EXTENSION not in extensions:
            await self._send_quietly({"type": "websocket.close", "code": code, "reason": reason})
            return
        body = orjson.dumps({"error": reason})
        await self._send_quietly(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await self._send_quietly({"type": "websocket.http.response.body", "body": body})

    def _raise_if_closed(self) -> None:
        if self._closed is not None:
            code, reason = self._closed
            raise ConnectionClosed(reason or "connection closed", code=code)

    def _disconnected(self, event: MutableMapping[str, Any]) -> ConnectionClosed:
        code = int(event.get("code") or _NO_STATUS)
        reason = str(event.get("reason") or "") or "closed by peer"
        if self._closed is None:
            self._closed = (code, reason)
        return ConnectionClosed(reason, code=code)

    async def _send_or_closed(self, event: MutableMapping[str, Any]) -> None:
        # ASGI servers raise an OSError subclass for a send on a closed connection
        # (Starlette's WebSocket a RuntimeError); either way the peer is gone.
        try:
            await self._send(event)
        except (OSError, RuntimeError):
            if self._closed is None:
                self._closed = (1006, "peer went away")
            raise ConnectionClosed(self._closed[1], code=self._closed[0]) from None

    async def _send_quietly(self, event: MutableMapping[str, Any]) -> None:
        with contextlib.suppress(OSError, RuntimeError):  # the peer already left
            await self._send(event)
