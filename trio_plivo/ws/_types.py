"""The data that crosses the handshake: what the client asked for, what we answer instead."""

from __future__ import annotations

import attrs

from .._exceptions import TrioPlivoError
from ._headers import Headers

__all__ = ["HTTPResponse", "HandshakeRequest", "WebSocketHandshakeError"]


@attrs.frozen
class HandshakeRequest:
    """The HTTP request that opened a WebSocket, seen before the server accepts it."""

    #: The HTTP method (``"GET"`` for any valid upgrade).
    method: str
    #: The raw request target: path, then ``?`` and the query when there is one.
    target: str
    #: The target without the query.
    path: str
    #: The raw query string, ``""`` when there is none.
    query: str
    #: The request's header fields.
    headers: Headers
    #: The peer's ``(host, port)`` when the stream is a TCP (or TLS-over-TCP) socket.
    remote: tuple[str, int] | None = None

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        headers: Headers,
        remote: tuple[str, int] | None = None,
    ) -> HandshakeRequest:
        """Build a request, splitting ``target`` into ``path`` and ``query``."""
        path, _, query = target.partition("?")
        return cls(method, target, path, query, headers, remote)


@attrs.frozen
class HTTPResponse:
    """A plain HTTP answer a server gives instead of upgrading to a WebSocket.

    ``Content-Type``, ``Content-Length`` and ``Connection: close`` are added when sent;
    ``headers`` are extra fields (e.g. ``("Retry-After", "5")``).
    """

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain; charset=utf-8"


class WebSocketHandshakeError(TrioPlivoError):
    """Opening a WebSocket (client role) failed: refused, malformed answer or timeout.

    ``status_code`` is the HTTP status the server answered with (``None`` when there was no
    valid answer at all, e.g. a timeout); ``headers`` and ``body`` are that answer's.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        headers: Headers | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.headers = headers if headers is not None else Headers()
        self.body = body
