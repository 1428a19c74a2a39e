"""The server role: read the HTTP upgrade request, route it, answer or upgrade."""

from __future__ import annotations

import contextlib
import email.utils
import http
from collections.abc import Awaitable, Callable

import trio
from websockets.datastructures import Headers as WSHeaders
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from ._connection import WebSocket
from ._handshake_read import early_failure, read_handshake
from ._headers import Headers
from ._types import HandshakeRequest, HTTPResponse

__all__ = ["accept_websocket"]

#: The route: given the request, an :class:`HTTPResponse` to answer with instead of upgrading,
#: or ``None`` to accept the WebSocket; or an awaitable of either, awaited within the
#: handshake's deadline (a check that needs a round trip, such as a shared replay cache).
Route = Callable[[HandshakeRequest], HTTPResponse | Awaitable[HTTPResponse | None] | None]


async def accept_websocket(
    stream: trio.abc.Stream,
    *,
    route: Route | None = None,
    max_message_size: int = 1 << 20,
    handshake_timeout: float = 10.0,
    close_timeout: float = 5.0,
) -> WebSocket | None:
    """Run the server side of the opening handshake on ``stream``.

    ``route`` sees the request before anything is answered and may return an
    :class:`HTTPResponse` (404 for another path, 403 for a bad signature, 200 for a health
    check ...) to answer with instead of upgrading, or an awaitable of that answer (awaited
    within ``handshake_timeout``). Returns the open :class:`WebSocket`, or
    ``None`` when the request was answered with plain HTTP (the route's answer, or a 4xx for
    a request that is not a valid upgrade), when the client went away, or when no complete
    request arrived within ``handshake_timeout``; ``stream`` is then closed.

    Incoming messages above ``max_message_size`` bytes fail the connection with code 1009.
    If ``route`` raises, the client gets a 500 and the exception propagates.
    """
    protocol = ServerProtocol(max_size=max_message_size)
    accepted = False
    try:
        with trio.move_on_after(handshake_timeout):
            read = await read_handshake(stream, protocol, Request, gave_up=protocol.close_expected)
            request = read.message
            if request is None:
                if protocol.handshake_exc is not None:
                    # websockets just drops a client that sent something that is not an
                    # HTTP request; we say why first.
                    await _send_bytes(stream, [_plain_response(400, b"Bad Request\n").serialize()])
                return None
            handshake = HandshakeRequest.from_target(
                request.method,
                request.path,
                Headers(request.headers.raw_items()),
                _remote_address(stream),
            )
            answer = None
            if route is not None:
                try:
                    routed = route(handshake)
                    answer = routed if isinstance(routed, HTTPResponse | None) else await routed
                except Exception:
                    response = _plain_response(500, b"Internal Server Error\n")
                    await _send_bytes(stream, [response.serialize()])
                    raise
            failure = early_failure(protocol)  # before the 101 makes the protocol OPEN
            response = _http_response(answer) if answer is not None else protocol.accept(request)
            protocol.send_response(response)
            if response.status_code != 101:
                await _send_bytes(stream, protocol.data_to_send())
                return None
            # Answers to frames that came with the request (a pong) follow the 101, never
            # precede it, and go out now rather than on the next read.
            await _send_bytes(stream, [*protocol.data_to_send(), *read.early_answers])
            accepted = True
            ws = WebSocket(
                stream,
                protocol,
                request=handshake,
                close_timeout=close_timeout,
                early_events=read.early_frames,
            )
            if failure is not None:
                ws._fail_after_handshake(*failure)
            return ws
        return None  # handshake timed out
    finally:
        if not accepted:
            await trio.aclose_forcefully(stream)


def _plain_response(status: int, body: bytes) -> Response:
    return _http_response(HTTPResponse(status, body))


def _http_response(answer: HTTPResponse) -> Response:
    try:
        phrase = http.HTTPStatus(answer.status).phrase
    except ValueError:
        phrase = ""
    headers = WSHeaders(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(answer.body))),
            ("Content-Type", answer.content_type),
        ]
    )
    for name, value in answer.headers:
        headers[name] = value
    return Response(answer.status, phrase, headers, answer.body)


async def _send_bytes(stream: trio.abc.Stream, chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    if not data:
        return
    # A client that left did not want the answer.
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await stream.send_all(data)


def _remote_address(stream: trio.abc.Stream) -> tuple[str, int] | None:
    transport: object = stream
    # Unwrap TLS, and wrappers such as the one-port front's replay stream, down to the socket.
    for _ in range(4):
        if isinstance(transport, trio.SocketStream):
            break
        transport = getattr(transport, "transport_stream", None)
    if not isinstance(transport, trio.SocketStream):
        return None
    try:
        address = transport.socket.getpeername()
    except OSError:
        return None
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None
