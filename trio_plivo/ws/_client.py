"""The client role: open TCP (TLS for ``wss://``), send the upgrade request, check the answer."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence

import trio
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus, InvalidURI
from websockets.http11 import Response
from websockets.uri import WebSocketURI, parse_uri

from .._exceptions import ConfigurationError
from ._connection import WebSocket
from ._handshake_read import read_handshake
from ._headers import Headers
from ._types import WebSocketHandshakeError

__all__ = ["connect_websocket", "connect_websocket_stream"]

HeaderItems = Mapping[str, str] | Sequence[tuple[str, str]]


async def connect_websocket(
    url: str,
    *,
    headers: HeaderItems = (),
    max_message_size: int = 1 << 20,
    connect_timeout: float = 10.0,
    close_timeout: float = 5.0,
    ssl_context: ssl.SSLContext | None = None,
) -> WebSocket:
    """Open a WebSocket to ``url`` (``ws://`` or ``wss://``) and return it once accepted.

    ``headers`` are added to the upgrade request. ``connect_timeout`` bounds TCP, TLS and the
    handshake together. Raises :class:`WebSocketHandshakeError` when the server refuses
    (``.status_code`` is its HTTP status) or does not answer in time, ``OSError`` when TCP
    cannot connect, :class:`~trio_plivo.ConfigurationError` for a URL that is not a
    WebSocket URL.
    """
    try:
        uri = parse_uri(url)
    except InvalidURI as exc:
        raise ConfigurationError(f"not a WebSocket URL: {url!r}") from exc
    with trio.move_on_after(connect_timeout) as scope:
        stream: trio.abc.Stream
        if uri.secure:
            stream = await trio.open_ssl_over_tcp_stream(
                uri.host,
                uri.port,
                ssl_context=ssl_context or ssl.create_default_context(),
                https_compatible=True,
            )
        else:
            stream = await trio.open_tcp_stream(uri.host, uri.port)
    if scope.cancelled_caught:
        raise WebSocketHandshakeError(f"timed out connecting to {url}")
    return await _handshake(
        stream,
        uri,
        headers,
        max_message_size=max_message_size,
        deadline=scope.deadline,
        close_timeout=close_timeout,
    )


async def connect_websocket_stream(
    stream: trio.abc.Stream,
    host: str,
    target: str = "/",
    *,
    headers: HeaderItems = (),
    max_message_size: int = 1 << 20,
    connect_timeout: float = 10.0,
    close_timeout: float = 5.0,
) -> WebSocket:
    """Run the client handshake on an already open ``stream`` (any ``trio.abc.Stream``,
    e.g. one end of ``trio.testing.memory_stream_pair()``).

    ``host`` is sent as the ``Host`` header, ``target`` (path and query) as the request
    target. The stream is closed when the handshake fails. Raises
    :class:`WebSocketHandshakeError` as :func:`connect_websocket` does.
    """
    if not target.startswith("/"):
        raise ConfigurationError(f"request target must start with '/': {target!r}")
    path, _, query = target.partition("?")
    # ClientProtocol only takes the Host header and the target from the URI.
    uri = WebSocketURI(False, host, 80, path, query)
    return await _handshake(
        stream,
        uri,
        headers,
        max_message_size=max_message_size,
        deadline=trio.current_time() + connect_timeout,
        close_timeout=close_timeout,
        host_header=host,
    )


async def _handshake(
    stream: trio.abc.Stream,
    uri: WebSocketURI,
    headers: HeaderItems,
    *,
    max_message_size: int,
    deadline: float,
    close_timeout: float,
    host_header: str | None = None,
) -> WebSocket:
    protocol = ClientProtocol(uri, max_size=max_message_size)
    request = protocol.connect()
    if host_header is not None:
        del request.headers["Host"]
        request.headers["Host"] = host_header
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        request.headers[name] = value
    protocol.send_request(request)
    ok = False
    try:
        with trio.move_on_at(deadline):
            await stream.send_all(b"".join(protocol.data_to_send()))
            read = await read_handshake(
                stream, protocol, Response, gave_up=lambda: protocol.handshake_exc is not None
            )
            response = read.message
            if protocol.handshake_exc is not None or response is None:
                raise _handshake_error(protocol.handshake_exc, response)
            # Answers to frames that came right behind the 101 (a pong) go out now, not on
            # the next read: a peer waiting for its pong may send nothing until it has it.
            await stream.send_all(b"".join(read.early_answers))
            ok = True
            return WebSocket(
                stream, protocol, close_timeout=close_timeout, early_events=read.early_frames
            )
        raise WebSocketHandshakeError("timed out waiting for the WebSocket handshake")
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise WebSocketHandshakeError("connection lost during the WebSocket handshake") from exc
    finally:
        if not ok:
            await trio.aclose_forcefully(stream)


def _handshake_error(exc: Exception | None, response: Response | None) -> WebSocketHandshakeError:
    if isinstance(exc, InvalidStatus):
        response = exc.response
    if response is None:
        error = WebSocketHandshakeError(f"invalid WebSocket handshake answer: {exc}")
    else:
        error = WebSocketHandshakeError(
            f"WebSocket handshake refused: {response.status_code} {response.reason_phrase}"
            if response.status_code != 101
            else f"invalid WebSocket handshake answer: {exc}",
            status_code=response.status_code,
            headers=Headers(response.headers.raw_items()),
            body=bytes(response.body),
        )
    error.__cause__ = exc
    return error
