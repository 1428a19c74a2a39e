"""Talk to the app from a browser: ``GET /talk`` (the page) and the ``/talk/ws`` WebSocket.

The WebSocket runs the stream server's own handler on a :class:`~trio_plivo.call.Call` with
the :class:`~trio_plivo.protocol.BrowserCodec`, so a browser conversation is one more call:
same handler, same limits, same drain on shutdown.

Who may talk, decided before the upgrade (no application code runs for a refused one):

* with a token, the upgrade must carry it (``?token=`` in the URL, which is what the page
  does, or ``Authorization: Bearer``): 401 otherwise;
* without one, the page and the socket are served only while every listener is bound to a
  loopback address (``127.0.0.1``, ``::1``), unless the front says ``browser_public=True``:
  403 otherwise;
* a browser upgrade from a page of another origin is refused (403): without that check any
  web site the developer visits could talk to a loopback-bound app.

The first message must be a valid ``start`` (within the call's ``start_timeout``), else the
socket closes with 4400 and the reason, before any call exists.
"""

from __future__ import annotations

import hmac
import importlib.resources
import ipaddress
import json
import logging
import re
from collections.abc import Sequence
from functools import cache
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import attrs
import trio

from .._exceptions import ConfigurationError, ConnectionClosed, RemoteProtocolError
from .._upgrade_signature import forwarded_first
from ..protocol.browser import BrowserCloseCode, BrowserCodec, parse_browser_start
from ..server import StreamServer
from ..transport import Message, MessageTransport
from ..ws import HandshakeRequest, HTTPResponse, accept_websocket
from ._http import WebRequest

__all__ = ["TALK_PATH", "TALK_WS_PATH", "BrowserTalk", "check_browser_host"]

logger = logging.getLogger("trio_plivo.web")

TALK_PATH: Final = "/talk"
TALK_WS_PATH: Final = "/talk/ws"
_JSON: Final = "application/json"
#: The page is all inline (scripts, styles, worklets from Blob URLs) and talks only to its own
#: origin; nothing else may load or frame it.
_PAGE_HEADERS: Final = (
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; "
        "connect-src 'self'; worker-src blob:; img-src data:; media-src blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)
#: Close reasons must fit a control frame (123 bytes after the code).
_MAX_REASON_BYTES: Final = 120


_TOKEN_IN_QUERY: Final = re.compile(r"([?&]token=)[^&\s]*")


class _RedactToken(logging.Filter):
    """websockets logs every request line and header at DEBUG, and the browser token travels
    in one or the other: hide it (the token must never reach a log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            if len(args) == 2 and str(args[0]).lower() == "authorization":
                args = (args[0], "<redacted>")
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1<redacted>", a) if isinstance(a, str) else a for a in args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_QUERY.sub(r"\1<redacted>", record.msg)
        return True


_REDACT: Final = _RedactToken()
for _name in ("websockets.server", "websockets.client"):
    logging.getLogger(_name).addFilter(_REDACT)


@cache
def talk_page() -> bytes:
    """The page, shipped as package data."""
    return importlib.resources.files("trio_plivo.web").joinpath("talk.html").read_bytes()


def _error(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> HTTPResponse:
    body = json.dumps({"error": message}).encode() + b"\n"
    return HTTPResponse(status, body, headers=headers, content_type=_JSON)


def _close_reason(text: str) -> str:
    return text.encode()[:_MAX_REASON_BYTES].decode("utf-8", "ignore")


def check_browser_host(host: str | None, token: str | None, public: bool) -> None:
    """Refuse, at start-up, to serve the page without a token on a non-loopback ``host``
    unless ``public`` (else every browser would be answered 403)."""
    if token is not None or public or host in ("localhost", "127.0.0.1", "::1"):
        return
    try:
        if host is not None and ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ConfigurationError(
        f"--browser on --host {host} needs a token ($TRIO_PLIVO_BROWSER_TOKEN or "
        "--browser-token-file), or --browser-public to let anyone who reaches the port talk "
        "to the app"
    )


def _is_loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host).partition("%")[0]).is_loopback
    except ValueError:
        return False


@attrs.define(eq=False)
class BrowserTalk:
    """The browser routes of a one-port front, for ``server``'s handler."""

    server: StreamServer
    token: str | None = attrs.field(default=None, repr=False)
    public: bool = False
    #: Upgrades refused for a missing or wrong token.
    refused_tokens: int = 0
    #: Sockets closed with 4400 for a bad or missing ``start``.
    bad_starts: int = 0

    def owns_page(self, path: str) -> bool:
        return path == TALK_PATH

    def wants_upgrade(self, request_bytes: bytes) -> bool:
        """Whether a request handed on for an upgrade (bytes as read) is for ``/talk/ws``."""
        line = request_bytes.partition(b"\r\n")[0]
        target = line.split(b" ", 2)[1] if line.count(b" ") >= 2 else b""
        return target.partition(b"?")[0] == TALK_WS_PATH.encode()

    def bound_to_loopback(self) -> bool:
        """True while every listener is bound to a loopback address."""
        listeners: Sequence[trio.SocketListener] = self.server.listeners
        return bool(listeners) and all(
            _is_loopback(listener.socket.getsockname()) for listener in listeners
        )

    def _refusal(self) -> HTTPResponse | None:
        if self.token is None and not self.public and not self.bound_to_loopback():
            return _error(
                403,
                "the browser page is served on a public address only with a browser token "
                "(or browser_public=True)",
            )
        return None

    # --- GET /talk ------------------------------------------------------------------------

    def page(self, request: WebRequest) -> HTTPResponse:
        """The page (200), or why not."""
        if request.method not in ("GET", "HEAD"):
            return _error(405, "use GET", headers=(("Allow", "GET, HEAD"),))
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        return HTTPResponse(
            200, talk_page(), headers=_PAGE_HEADERS, content_type="text/html; charset=utf-8"
        )

    # --- the WebSocket --------------------------------------------------------------------

    def _route(self, request: HandshakeRequest) -> HTTPResponse | None:
        if request.path != TALK_WS_PATH:  # (the front only hands this path over)
            return _error(404, "not found")
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        if not _same_origin(request):
            logger.warning("refused a browser WebSocket from another origin")
            return _error(403, "cross-origin WebSocket refused")
        if self.token is not None and not self._token_ok(request):
            self.refused_tokens += 1
            logger.warning("refused a browser WebSocket with a missing or wrong token")
            return _error(401, "missing or wrong token", headers=(("WWW-Authenticate", "Bearer"),))
        server = self.server
        if server.draining:
            return _error(503, "shutting down")
        if server.max_calls is not None and server.active_calls >= server.max_calls:
            return _error(503, "too many calls")
        return None

    def _token_ok(self, request: HandshakeRequest) -> bool:
        assert self.token is not None
        offered = next((v for k, v in parse_qsl(request.query) if k == "token"), None)
        authorization = request.headers.get("Authorization", "")
        if offered is None and authorization[:7].lower() == "bearer ":
            offered = authorization[7:].strip()
        if offered is None:
            return False
        return hmac.compare_digest(offered.encode(), self.token.encode())

    async def handle_stream(self, stream: trio.abc.Stream, *, handshake_deadline: float) -> None:
        """Serve one connection for ``/talk/ws``: refuse or upgrade, check the ``start``, run
        the call. Never raises except for cancellation. The handshake must be over by
        ``handshake_deadline`` (the front's, for the whole request head)."""
        server = self.server
        try:
            ws = await accept_websocket(
                stream,
                route=self._route,
                max_message_size=server.max_message_size,
                handshake_timeout=max(0.0, handshake_deadline - trio.current_time()),
                close_timeout=server.close_timeout,
            )
            if ws is None:
                return
            first: Message | None = None
            with trio.move_on_after(server.config.start_timeout):
                try:
                    first = await ws.receive_message()
                except ConnectionClosed:
                    return
            if first is None:
                self.bad_starts += 1
                await ws.aclose(BrowserCloseCode.BAD_REQUEST, "no start message")
                return
            try:
                parse_browser_start(first)
            except RemoteProtocolError as exc:
                self.bad_starts += 1
                await ws.aclose(BrowserCloseCode.BAD_REQUEST, _close_reason(str(exc)))
                return
            await server.handle_transport(_FirstAgain(ws, first), codec=BrowserCodec())
        except Exception:
            logger.exception("browser connection failed")
        finally:
            await trio.aclose_forcefully(stream)


def _same_origin(request: HandshakeRequest) -> bool:
    """No ``Origin`` (not a browser), or one naming the host the request addressed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin.lower())
    default_port = {"http": ":80", "https": ":443"}.get(parts.scheme, "")
    netloc = parts.netloc.removesuffix(default_port) if default_port else parts.netloc
    hosts = {request.headers.get("Host"), forwarded_first(request.headers.get("X-Forwarded-Host"))}
    return bool(netloc) and any(
        host and (host.lower() == netloc or host.lower() == netloc + default_port) for host in hosts
    )


@attrs.define(eq=False)
class _FirstAgain:
    """``transport`` with the already-checked ``start`` put back in front, for the call."""

    transport: MessageTransport
    first: Message | None

    async def receive_message(self) -> Message:
        if self.first is not None:
            message, self.first = self.first, None
            await trio.lowlevel.checkpoint()
            return message
        return await self.transport.receive_message()

    async def send_messages(self, messages: Sequence[Message]) -> None:
        await self.transport.send_messages(messages)

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        await self.transport.aclose(code, reason)
