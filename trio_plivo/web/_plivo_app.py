"""The Plivo side of HTTP: ``/answer`` (Stream XML), ``/status`` (stream callbacks),
``/healthz``. Pure request -> response logic; the front does the I/O.

Signed requests: when the stream server has a
:class:`~trio_plivo.signatures.SignatureValidator`, ``/answer`` and ``/status`` must carry a
valid ``X-Plivo-Signature-V3`` for their public URL, or get 403 before anything is parsed,
published or built. ``/healthz`` is unsigned (load balancers call it) and says nothing
secret.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..answers import Response, Stream
from ..ws import HTTPResponse
from ._http import WebRequest
from ._status import StatusHub
from ._status_callback import StreamStatusEvent, parse_stream_status
from ._urls import PublicOrigin, origin_from_request

if TYPE_CHECKING:
    from ..server import StreamServer

__all__ = ["AnswerHook", "AnswerRequest", "FrontStatistics", "PlivoRoutes"]

logger = logging.getLogger("trio_plivo.web")

XML_CONTENT_TYPE: Final = "application/xml"
_JSON: Final = "application/json"
_WEBHOOK_METHODS: Final = ("GET", "POST")


@attrs.frozen(kw_only=True)
class AnswerRequest:
    """A signed ``/answer`` request, as an answer hook sees it, with the default answer at
    hand: ``default_stream(**changes)`` is the ``<Stream>`` the front would send, changed."""

    #: The HTTP request: ``params()`` has Plivo's fields (``CallUUID``, ``From``, ``To`` ...).
    request: WebRequest
    #: Where the default ``<Stream>`` points (this host's stream path, or ``public_url``).
    stream_url: str
    #: The default ``contentType`` and status callback URL.
    content_type: str
    status_callback_url: str

    def default_stream(self, **changes: Any) -> Stream:
        """The default ``<Stream>`` (bidirectional, call kept alive, status callbacks here)
        with ``changes`` (any :class:`~trio_plivo.answers.Stream` argument: ``extra_headers``,
        ``content_type``, ``audio_track`` ...)."""
        options: dict[str, Any] = {
            "bidirectional": True,
            "keep_call_alive": True,
            "content_type": self.content_type,
            "status_callback_url": self.status_callback_url,
            "status_callback_method": "POST",
        }
        options.update(changes)
        url = options.pop("url", self.stream_url)
        return Stream(url, **options)


#: ``(request) -> Response | None``: the answer XML for this call, or ``None`` for the
#: default. Sync or async.
AnswerHook = Callable[[AnswerRequest], "Response | Awaitable[Response | None] | None"]


@attrs.frozen
class FrontStatistics:
    """Counters of the one-port front since it was built."""

    #: ``/answer`` requests answered with Stream XML.
    answers: int
    #: Status callbacks parsed and published.
    status_callbacks: int
    #: Status events subscribers lost to full buffers (summed over subscribers).
    status_dropped: int
    #: ``/answer`` and ``/status`` requests refused for a missing or invalid signature.
    refused_signatures: int
    #: Connections handed to the stream server (WebSocket upgrades and its own routes).
    handed_to_stream_server: int


@attrs.define(eq=False)
class PlivoRoutes:
    """The plain HTTP routes of a one-port Plivo app, next to ``server``'s stream path."""

    server: StreamServer
    #: The Stream XML ``contentType`` (already validated).
    content_type: str
    #: The configured public stream URL and the origin derived from it, or ``None`` to
    #: take both from each request.
    public_url: str | None
    public_origin: PublicOrigin | None
    answer_path: str
    status_path: str
    health_path: str
    answer_hook: AnswerHook | None = None
    hub: StatusHub = attrs.Factory(StatusHub)
    answers: int = 0
    status_callbacks: int = 0
    refused_signatures: int = 0
    handed_to_stream_server: int = 0

    def owns(self, path: str) -> bool:
        """Whether ``path`` is one of these routes (anything else goes to the stream server)."""
        return path in (self.answer_path, self.status_path, self.health_path)

    def wants_body(self, request: WebRequest) -> bool:
        """Whether the body must be read before :meth:`handle` (signed POST form fields)."""
        return request.method == "POST" and request.path in (self.answer_path, self.status_path)

    async def handle(self, request: WebRequest) -> HTTPResponse:
        """Answer a request for one of :meth:`owns`'s paths."""
        if request.path == self.health_path:
            return self._health(request)
        if request.method not in _WEBHOOK_METHODS:
            return HTTPResponse(405, b"method not allowed\n", headers=(("Allow", "GET, POST"),))
        origin = self.public_origin or origin_from_request(
            request.headers, tls=self.server.ssl_context is not None
        )
        if origin is None:
            return HTTPResponse(400, b"no usable Host header\n")
        if not self._signed(request, origin):
            self.refused_signatures += 1
            # The path says which endpoint; headers and signatures stay out of the log.
            logger.warning(
                "refused %s %s: missing or invalid Plivo signature", request.method, request.path
            )
            return HTTPResponse(403, b"invalid signature\n")
        if request.path == self.answer_path:
            return await self._answer(request, origin)
        return self._status(request)

    def statistics(self) -> FrontStatistics:
        """A snapshot of the counters."""
        return FrontStatistics(
            answers=self.answers,
            status_callbacks=self.status_callbacks,
            status_dropped=self.hub.dropped,
            refused_signatures=self.refused_signatures,
            handed_to_stream_server=self.handed_to_stream_server,
        )

    def stream_url(self, origin: PublicOrigin) -> str:
        """The URL the XML points Plivo at."""
        return self.public_url or origin.ws_url(self.server.path)

    def _signed(self, request: WebRequest, origin: PublicOrigin) -> bool:
        validator = self.server.signature_validator
        if validator is None:
            return True
        # Plivo signs the URL it called (query included) and, for a POST, the form fields.
        return validator.validate_request(
            request.headers,
            url=origin.http_url(request.target),
            method=request.method,
            params=request.form() if request.method == "POST" else None,
        )

    async def _answer(self, request: WebRequest, origin: PublicOrigin) -> HTTPResponse:
        asked = AnswerRequest(
            request=request,
            stream_url=self.stream_url(origin),
            content_type=self.content_type,
            status_callback_url=origin.http_url(self.status_path),
        )
        document: Response | None = None
        if self.answer_hook is not None:
            result = self.answer_hook(asked)
            document = await result if inspect.isawaitable(result) else result
        if document is None:
            document = Response(asked.default_stream())
        self.answers += 1
        params = request.params()
        logger.info(
            "answered %s %s (call %s): %s",
            request.method,
            request.path,
            params.get("CallUUID", "?"),
            "the hook's XML" if self.answer_hook is not None else "stream XML",
        )
        return HTTPResponse(200, document.to_xml().encode(), content_type=XML_CONTENT_TYPE)

    def _status(self, request: WebRequest) -> HTTPResponse:
        event = parse_stream_status(request.params())
        if not event.event:
            # Not a status callback at all (an empty probe, a misrouted request): say so,
            # rather than "ok" for something nobody will see published. (Only Event is
            # required: the other fields vary between Plivo's callbacks.)
            body = {"error": "not a stream status callback: missing Event"}
            return HTTPResponse(400, json.dumps(body).encode(), content_type=_JSON)
        self.status_callbacks += 1
        _log_status(event)
        self.hub.publish(event)
        return HTTPResponse(200, b"ok\n")

    def _health(self, request: WebRequest) -> HTTPResponse:
        if request.method not in ("GET", "HEAD"):
            return HTTPResponse(405, b"method not allowed\n", headers=(("Allow", "GET, HEAD"),))
        draining = self.server.draining
        body = {
            "status": "draining" if draining else "ok",
            "active_calls": self.server.active_calls,
            "total_calls": self.server.total_calls,
        }
        # 503 while draining, so a load balancer stops sending new calls here.
        return HTTPResponse(503 if draining else 200, json.dumps(body).encode(), content_type=_JSON)


def _log_status(event: StreamStatusEvent) -> None:
    level = logging.WARNING if event.is_problem else logging.INFO
    logger.log(
        level,
        "stream status %s (stream %s, call %s)",
        event.event,
        event.stream_id,
        event.call_uuid,
    )
