"""The one-port front: Plivo's answer URL, status callbacks and the media stream on one port.

Theory of operation. For each accepted connection the front reads until the request line
has arrived (bounded in size and time) and routes on its method and path:

* a GET for any path but the front's own -- the WebSocket upgrade above all -- is handed,
  unchanged, to :meth:`StreamServer.handle_stream
  <trio_plivo.server.StreamServer.handle_stream>` over a :class:`ReplayStream` that first
  gives back every byte already read. From there the stream server does exactly what it does
  alone: its full request parse, 404 for other paths, 503 over the call limit or while
  draining, 403 for a bad signature, all before upgrading; then the call runs on the same
  WebSocket fast path as without the front;
* everything else (``/answer``, ``/status``, ``/healthz``, or a non-GET elsewhere) is parsed
  by h11, body included, and answered as plain HTTP with ``Connection: close``;
* with ``browser=True``, ``GET /talk`` is the browser page and an upgrade for ``/talk/ws`` goes
  to :class:`~trio_plivo.web._talk.BrowserTalk` instead, which runs the same handler with the
  browser codec (token, loopback and origin checks before the upgrade).

Routing on the request line rather than an h11 parse of the whole head is a measured choice
(``bench/bench_oneport.py``): the WebSocket layer parses the head anyway, so parsing it twice
only made every call setup slower. Nothing is added per media frame.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

import attrs
import h11
import trio

from .._exceptions import ConfigurationError
from .._format import MULAW_8K, AudioFormat
from ..answers._plivo_options import normalise_content_type
from ..control import ControlAPI, ControlError, FleetControl
from ..control._errors import json_response
from ..server import StreamServer

if TYPE_CHECKING:
    from ..fleet import RedisCallDirectory
from ..ws import HTTPResponse
from ._http import BodyTooLarge, RequestReader, WebRequest, send_response, to_web_request
from ._plivo_app import AnswerHook, FrontStatistics, PlivoRoutes
from ._replay import ReplayStream
from ._status import StatusSubscription
from ._talk import TALK_PATH, TALK_WS_PATH, BrowserTalk
from ._urls import origin_from_public_url

__all__ = ["PlivoFront"]

logger = logging.getLogger("trio_plivo.web")


def default_node_name() -> str:
    """``hostname:pid``: this process, as ``GET /calls`` names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _check_path(path: str) -> str:
    if not isinstance(path, str) or not path.startswith("/") or "?" in path:
        raise ConfigurationError(
            f"a route path must start with '/' and have no query, got {path!r}"
        )
    return path


@attrs.define(eq=False)
class PlivoFront:
    """A whole Plivo voice app on one port: ``server``'s stream path plus the answer URL,
    the stream status callback and a health check.

    ::

        server = StreamServer(app, signature_validator=SignatureValidator(token))
        front = PlivoFront(server, content_type=L16_16K)
        async with trio.open_nursery() as nursery:
            await nursery.start(front.serve, "0.0.0.0", 8000)
            with front.status_events() as events:
                async for event in events:
                    ...

    Signatures use ``server.signature_validator`` for every endpoint: set it and
    ``/answer``, ``/status`` and the upgrade all require Plivo's signature.
    ``public_url`` is the stream URL to put in the XML when a proxy rewrites hosts or
    paths; without it the URLs are built from each request (``X-Forwarded-Proto``,
    ``X-Forwarded-Host`` else ``Host``). See :mod:`trio_plivo.web._urls`.
    """

    server: StreamServer
    #: The Stream XML ``contentType``: an :class:`~trio_plivo.AudioFormat` or Plivo's spelling.
    content_type: AudioFormat | str = attrs.field(default=MULAW_8K)
    #: The public stream URL (``wss://...``) when requests cannot tell it; see above.
    public_url: str | None = None
    answer_path: str = attrs.field(default="/answer", converter=_check_path)
    status_path: str = attrs.field(default="/status", converter=_check_path)
    health_path: str = attrs.field(default="/healthz", converter=_check_path)
    #: Larger request bodies get 413 (Plivo's webhook forms are a few hundred bytes).
    max_body_size: int = 64 * 1024
    #: Larger request heads get 431.
    max_head_size: int = 16 * 1024
    #: Serve the browser page at ``/talk`` and its WebSocket at ``/talk/ws`` (see
    #: :mod:`trio_plivo.web._talk`): the same handler talks to a browser tab.
    browser: bool = False
    #: The token the browser WebSocket must carry; without one the page is served only
    #: on loopback binds unless ``browser_public``.
    browser_token: str | None = attrs.field(default=None, repr=False)
    browser_public: bool = False
    #: ``(request) -> Response | None`` (sync or async): the ``/answer`` XML for one call,
    #: e.g. with extra headers from the caller's number, or ``None`` for the default. It gets
    #: an :class:`~trio_plivo.web.AnswerRequest` (signature already checked); its
    #: ``default_stream(**changes)`` is the default ``<Stream>``, changed.
    answer_hook: AnswerHook | None = None
    #: Serve the control API (``/calls``, ``/metrics``; see :mod:`trio_plivo.control`) to
    #: requests carrying ``Authorization: Bearer <control_token>``. Never in a repr or a log.
    control_token: str | None = attrs.field(default=None, repr=False)
    #: This process's name in ``GET /calls`` (``node``).
    node: str = attrs.field(factory=lambda: default_node_name())
    #: With the control API: an entered :class:`~trio_plivo.fleet.RedisCallDirectory` makes it
    #: fleet-wide (calls published in Redis, requests for other processes' calls forwarded).
    fleet: RedisCallDirectory | None = None
    _routes: PlivoRoutes = attrs.field(init=False)
    _control: ControlAPI | None = attrs.field(init=False, default=None)
    _fleet_control: FleetControl | None = attrs.field(init=False, default=None)
    _talk: BrowserTalk | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        paths = (self.answer_path, self.status_path, self.health_path)
        if len(set(paths)) != 3 or self.server.path in paths:
            raise ConfigurationError(
                f"route paths must be distinct from each other and from the stream path, got {paths} and {self.server.path!r}"
            )
        origin = None
        if self.public_url is not None:
            origin = origin_from_public_url(self.public_url, self.server.path)
            validator = self.server.signature_validator
            if validator is not None and validator.public_url not in (None, self.public_url):
                # Plivo signs the URL in the XML; checking against another would refuse every call.
                raise ConfigurationError(
                    "public_url differs from the signature validator's public_url"
                )
        if self.browser:
            if {TALK_PATH, TALK_WS_PATH} & {*paths, self.server.path}:
                raise ConfigurationError(f"{TALK_PATH} and {TALK_WS_PATH} are the browser's paths")
            if self.browser_token is not None and not self.browser_token.strip():
                raise ConfigurationError("browser_token must not be empty")
            self._talk = BrowserTalk(self.server, self.browser_token, self.browser_public)
        elif self.browser_token is not None or self.browser_public:
            raise ConfigurationError("browser_token and browser_public need browser=True")
        if self.control_token is not None:
            if len(self.control_token.strip()) < 16:
                raise ConfigurationError("control_token must be at least 16 characters")
            self._control = ControlAPI(self.server, self.control_token.strip(), node=self.node)
            if self.fleet is not None:
                self._fleet_control = FleetControl(self._control, self.fleet)
        elif self.fleet is not None:
            raise ConfigurationError("fleet (a shared call registry) needs control_token")
        self._routes = PlivoRoutes(
            self.server,
            normalise_content_type(self.content_type),
            self.public_url,
            origin,
            self.answer_path,
            self.status_path,
            self.health_path,
            self.answer_hook,
        )

    # --- running ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        return self.server.port

    async def serve(
        self,
        host: str | None = "127.0.0.1",
        port: int = 8000,
        *,
        task_status: trio.TaskStatus[PlivoFront] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on ``host:port`` and serve until :meth:`shutdown`; with ``nursery.start``
        it returns the front once accepting."""
        listeners = await trio.open_tcp_listeners(port, host=host)
        await self.serve_listeners(listeners, task_status=task_status)

    async def serve_listeners(
        self,
        listeners: Sequence[trio.SocketListener],
        *,
        task_status: trio.TaskStatus[PlivoFront] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve on already-open listeners (the stream server's accept loop, shutdown and
        drain, with :meth:`handle_connection` for each connection)."""
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(partial(self._serve_then_stop, listeners, nursery.cancel_scope))
                if self._control is not None:
                    nursery.start_soon(self._control.metrics.sample_lateness)
                if self._fleet_control is not None:
                    await nursery.start(self._fleet_control.run)
                task_status.started(self)
        finally:
            self._routes.hub.close()

    async def _serve_then_stop(
        self,
        listeners: Sequence[trio.SocketListener],
        done: trio.CancelScope,
        *,
        task_status: trio.TaskStatus[StreamServer] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        await self.server.serve_listeners(
            listeners, handle_connection=self.handle_connection, task_status=task_status
        )
        done.cancel()  # drained: the front's own background tasks end too

    def shutdown(self) -> None:
        """Stop accepting and drain (see :meth:`StreamServer.shutdown`)."""
        self.server.shutdown()

    def status_events(self, buffer: int = 64) -> StatusSubscription:
        """Subscribe to stream status callbacks (a context manager and async iterator).

        Each subscriber has its own buffer of ``buffer`` events; when it is full the
        *oldest* unread event is dropped for the new one and counted in
        :attr:`StatusSubscription.dropped`. Iteration ends when the front stops serving.
        """
        return self._routes.hub.subscribe(buffer)

    def statistics(self) -> FrontStatistics:
        """Counters: answers, status callbacks (and drops), refused signatures, hand-offs."""
        return self._routes.statistics()

    # --- one connection --------------------------------------------------------------------

    async def handle_connection(self, stream: trio.abc.Stream) -> None:
        """Serve one accepted connection: a plain HTTP answer, or the stream server's path.
        Never raises except for cancellation."""
        # One deadline for the whole request head, whichever path it takes: the request line
        # read here and the rest read by the stream server share it.
        deadline = trio.current_time() + self.server.handshake_timeout
        try:
            replay = await self._answer_or_pass(stream, deadline)
            if replay is not None:
                self._routes.handed_to_stream_server += 1
                # The call itself is not time-limited, only its handshake.
                replayed = ReplayStream(stream, replay)
                if self._talk is not None and self._talk.wants_upgrade(replay):
                    await self._talk.handle_stream(replayed, handshake_deadline=deadline)
                else:
                    await self.server.handle_stream(replayed, handshake_deadline=deadline)
        except Exception:
            logger.exception("connection failed")
        finally:
            await trio.aclose_forcefully(stream)

    async def _answer_or_pass(self, stream: trio.abc.Stream, deadline: float) -> bytes | None:
        """Answer a request for our routes; for anything the stream server handles return
        the bytes read so far (to replay) instead. ``None`` when done here."""
        reader = RequestReader(stream, max_head_size=self.max_head_size)
        request: WebRequest | None = None
        with trio.move_on_at(deadline):
            try:
                route = await reader.peek_route()
                if (
                    route is not None
                    and route[0] == b"GET"
                    and not self._owns(route[1].decode("latin-1"))
                ):
                    # Not ours (an upgrade, or the stream server's own routes): hand it on
                    # as read, without parsing a head the WebSocket layer parses anyway.
                    return bytes(reader.raw)
                head = await reader.read_head()
                if head is None:
                    return None  # the client left without asking anything
                request = to_web_request(head)
                logger.debug("%s %s (front)", request.method, request.path)
                if self._control is not None and self._control.owns(request.path):
                    response = await self._respond_control(request, reader)
                elif not self._owns(request.path):
                    if request.method == "GET":
                        return bytes(reader.raw)
                    response = HTTPResponse(404, b"not found\n")
                else:
                    if self._routes.wants_body(request):
                        body = await reader.read_body(self.max_body_size)
                        request = attrs.evolve(request, body=body)
                    response = await self._respond(request)
            except h11.RemoteProtocolError as exc:
                response = HTTPResponse(exc.error_status_hint, b"bad request\n")
            except BodyTooLarge:
                response = HTTPResponse(413, b"request body too large\n")
            head_only = request is not None and request.method == "HEAD"
            await send_response(stream, reader.conn, response, head_only=head_only)
        return None

    def _owns(self, path: str) -> bool:
        return (
            self._routes.owns(path)
            or (self._talk is not None and self._talk.owns_page(path))
            or (self._control is not None and self._control.owns(path))
        )

    async def _respond_control(self, request: WebRequest, reader: RequestReader) -> HTTPResponse:
        control = self._control
        assert control is not None
        if not control.authorized(request.headers):
            # Before anything else is read or parsed; the token is never logged.
            logger.warning(
                "refused %s %s: missing or wrong control token", request.method, request.path
            )
            return json_response(
                401, {"error": "a bearer token is required"}, (("WWW-Authenticate", "Bearer"),)
            )

        async def read_body() -> bytes:
            try:
                return await reader.read_body(control.max_body_size)
            except BodyTooLarge:
                raise ControlError(
                    413, f"the body is over the limit of {control.max_body_size} bytes"
                ) from None

        try:
            return await control.respond(
                request.method, request.path, request.headers.get("Content-Type") or "", read_body
            )
        except Exception:
            logger.exception("control %s %s failed", request.method, request.path)
            return json_response(500, {"error": "internal error (logged on the server)"})

    async def _respond(self, request: WebRequest) -> HTTPResponse:
        try:
            if self._talk is not None and self._talk.owns_page(request.path):
                return self._talk.page(request)
            return await self._routes.handle(request)
        except Exception:
            logger.exception("%s %s failed", request.method, request.path)
            return HTTPResponse(500, b"internal server error\n")
