"""HTTP/1.1 on a Trio stream with h11: read one request, write one response, close.

Plivo's webhooks are single requests, so this layer keeps it simple: no keep-alive (every
answer says ``Connection: close``), bounded heads and bodies, and a deadline set by the caller.
Everything read from the socket is also kept verbatim in :attr:`RequestReader.raw`, so a
WebSocket upgrade can be handed on untouched (see :mod:`._replay`).
"""

from __future__ import annotations

import contextlib
import email.utils
import http
from typing import Final, cast
from urllib.parse import parse_qsl

import attrs
import h11
import trio

from ..ws import Headers, HTTPResponse

__all__ = ["BodyTooLarge", "RequestReader", "WebRequest", "send_response"]

_READ_SIZE: Final = 65536
_FORM: Final = "application/x-www-form-urlencoded"


@attrs.frozen
class WebRequest:
    """One plain HTTP request, body included."""

    method: str
    #: The raw request target: path, then ``?`` and the query when there is one.
    target: str
    path: str
    query: str
    headers: Headers
    body: bytes = b""

    def form(self) -> list[tuple[str, str]]:
        """The url-encoded form fields of the body (``[]`` for any other content type)."""
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";", 1)[0].strip().lower() != _FORM:
            return []
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def params(self) -> dict[str, str]:
        """Query parameters and form fields in one mapping; the first value of a repeated
        key wins, and a form field wins over a query parameter of the same name."""
        merged: dict[str, str] = {}
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            merged.setdefault(key, value)
        form: dict[str, str] = {}
        for key, value in self.form():
            form.setdefault(key, value)
        return merged | form


class BodyTooLarge(Exception):
    """The request body is over the limit (answered with 413)."""


@attrs.define(eq=False)
class RequestReader:
    """Reads one request from ``stream`` with h11, keeping every byte it read."""

    stream: trio.abc.Stream
    max_head_size: int = 16384
    #: Every byte received so far, as received.
    raw: bytearray = attrs.field(factory=bytearray, init=False)
    _conn: h11.Connection | None = attrs.field(default=None, init=False)
    _eof: bool = attrs.field(default=False, init=False)

    @property
    def conn(self) -> h11.Connection:
        """The h11 connection, made on first use (a handed-on upgrade never needs one) and
        fed everything read so far."""
        if self._conn is None:
            self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_head_size)
            if self.raw:  # (an empty receive_data would mean end of file)
                self._conn.receive_data(bytes(self.raw))
            if self._eof:
                self._conn.receive_data(b"")
        return self._conn

    async def _receive(self) -> bytes:
        try:
            data = bytes(await self.stream.receive_some(_READ_SIZE))
        except trio.BrokenResourceError:
            data = b""
        self.raw += data
        self._eof = not data
        if self._conn is not None:
            self._conn.receive_data(data)  # b"" is end of file
        return data

    async def _next_event(self) -> h11.Event | type[h11.PAUSED]:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return cast("h11.Event | type[h11.PAUSED]", event)
            await self._receive()

    async def peek_route(self) -> tuple[bytes, bytes] | None:
        """The method and path from the request line, as soon as that line has arrived.

        For routing only, and cheap (the measured reason it exists: a WebSocket upgrade is
        then handed on without an h11 parse the WebSocket layer would repeat). Whatever the
        route, the whole request is still parsed by h11 or by the WebSocket layer. ``None``
        when the client left first or sent no line end within ``max_head_size`` bytes
        (:meth:`read_head` then says which).
        """
        while (end := self.raw.find(b"\r\n")) < 0:
            if len(self.raw) > self.max_head_size or not await self._receive():
                return None
        method, _, rest = bytes(self.raw[:end]).partition(b" ")
        target = rest.partition(b" ")[0]
        return method, target.partition(b"?")[0]

    async def read_head(self) -> h11.Request | None:
        """The request head, or ``None`` when the client left first. Raises
        ``h11.RemoteProtocolError`` for something that is not HTTP/1.1 (or too long)."""
        event = await self._next_event()
        if not isinstance(event, h11.Request):
            return None
        # h11 bounds only what it buffers *incomplete*; a long head arriving in one read
        # would pass, so its parsed size is checked too.
        size = len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers.raw_items())
        if size > self.max_head_size:
            raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        return event

    async def read_body(self, limit: int) -> bytes:
        """The whole body (call after :meth:`read_head`); :class:`BodyTooLarge` beyond
        ``limit`` bytes, ``h11.RemoteProtocolError`` for a malformed or truncated one."""
        if self.conn.client_is_waiting_for_100_continue:
            await _send(
                self.stream, self.conn.send(h11.InformationalResponse(status_code=100, headers=[]))
            )
        body = bytearray()
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > limit:
                    raise BodyTooLarge
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                raise h11.RemoteProtocolError("the client closed mid-body", error_status_hint=400)
            else:  # pragma: no cover - h11 yields nothing else between a head and its end
                raise h11.RemoteProtocolError(f"unexpected {event!r}", error_status_hint=400)


def to_web_request(head: h11.Request, body: bytes = b"") -> WebRequest:
    """A :class:`WebRequest` from h11's head (bytes decoded as latin-1, as HTTP defines)."""
    target = head.target.decode("latin-1")
    path, _, query = target.partition("?")
    headers = Headers(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in head.headers
    )
    return WebRequest(head.method.decode("ascii"), target, path, query, headers, body)


async def send_response(
    stream: trio.abc.Stream,
    conn: h11.Connection,
    response: HTTPResponse,
    *,
    head_only: bool = False,
) -> None:
    """Write ``response`` (status, body, ``Content-Type``, extra headers) and close politely:
    ``Connection: close``, no keep-alive. A client that already left is not an error."""
    try:
        reason = http.HTTPStatus(response.status).phrase.encode()
    except ValueError:
        reason = b""
    headers = [
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Connection", "close"),
        ("Content-Type", response.content_type),
        ("Content-Length", str(len(response.body))),
        *response.headers,
    ]
    try:
        data = conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
        if not head_only:
            data += conn.send(h11.Data(data=response.body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
    except h11.LocalProtocolError:
        return  # the connection is past answering (h11 knows better than us)
    await _send(stream, data or b"")


async def _send(stream: trio.abc.Stream, data: bytes) -> None:
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await stream.send_all(data)
