"""The stream server: accepts provider WebSockets and runs one call per connection.

Each connection runs in its own task under a server-owned nursery, inside
:func:`~trio_plivo.call.serve_call`, which never lets a call's failure escape: a handler
exception is logged with the call id and closes that call with 1011, and every other call
keeps going. Requests for other paths, over the call limit, during shutdown or with a bad
signature are answered with plain HTTP *before* the upgrade, so no application code or call
resource is ever spent on them.

Graceful shutdown (:meth:`StreamServer.shutdown`, or SIGINT/SIGTERM in the CLI): stop
accepting, let active calls finish for up to ``shutdown_grace`` seconds, then cancel them
(they close with 1001 "going away").
"""

from __future__ import annotations

import errno
import logging
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import trio

from ._connect_hooks import ConnectHook, run_connect_hooks
from ._upgrade_refusal import check_shared_nonce, check_signature, count_refusal, log_refusal
from .call import CallConfig, CallHandler, CallRegistry, serve_call
from .fleet._nonces import LocalNonceCache
from .protocol import PlivoCodec, ProviderCodec
from .transport import MessageTransport
from .ws import HandshakeRequest, HTTPResponse, WebSocket, accept_websocket

if TYPE_CHECKING:
    from .fleet._nonces import NonceCache
    from .signatures import SignatureValidator

__all__ = ["StreamServer", "serve"]

logger = logging.getLogger("trio_plivo.server")

# accept() errors that mean "out of resources right now", retried after a pause (as trio's
# serve_listeners does) instead of killing the server.
_ACCEPT_CAPACITY_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_ACCEPT_RETRY_S = 0.1

#: Extra plain-HTTP routes: given the request, return a response, or ``None`` to pass.
HTTPRoute = Callable[[HandshakeRequest], HTTPResponse | None]

#: Serves one accepted connection (default: :meth:`StreamServer.handle_stream`).
ConnectionHandler = Callable[[trio.abc.Stream], Awaitable[None]]


@attrs.define(eq=False)
class StreamServer:
    """A WebSocket stream server for one application ``handler``.

    Use :meth:`serve` (host/port) or :meth:`serve_listeners` with ``nursery.start`` to run it,
    or, to embed it in an existing Trio app that accepts its own connections,
    :meth:`handle_stream` (a raw ``trio.abc.Stream``) or :meth:`handle_transport` (an already
    upgraded WebSocket, e.g. a trio-websocket connection wrapped in
    :class:`~trio_plivo.transport.TrioWebsocketTransport`).
    """

    handler: CallHandler
    #: The WebSocket path calls arrive on; other paths get 404 before the upgrade.
    path: str = "/stream"
    config: CallConfig = attrs.Factory(CallConfig)
    #: Builds one codec per call (the provider's wire protocol).
    codec_factory: Callable[[], ProviderCodec] = PlivoCodec
    #: At most this many concurrent calls (503 beyond); ``None`` for no limit.
    max_calls: int | None = None
    max_message_size: int = 1 << 20
    handshake_timeout: float = 10.0
    close_timeout: float = 5.0
    #: On shutdown, active calls get this long to finish before they are cancelled.
    shutdown_grace: float = 10.0
    #: After a caller hangs up, the handler gets this long before it is cancelled.
    handler_grace: float = 1.0
    #: When set, WebSocket upgrades must carry a valid Plivo signature (403 otherwise).
    signature_validator: SignatureValidator | None = None
    #: Serve TLS (``wss://``) with this context: each accepted connection is wrapped in a
    #: :class:`trio.SSLStream` (the handshake counts against ``handshake_timeout``). Loading a
    #: new certificate into the same context (``load_cert_chain``) applies to new connections
    #: at once: how ``trio-plivo serve --certfile`` rotates certificates on SIGHUP.
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, repr=False)
    #: ``on_connect(request)`` (sync or async): runs after the upgrade and before the call's
    #: ``start`` is read, with the upgrade request (path, query, headers, peer); open what the
    #: call will need (a speech recogniser's session) so no audio waits on it later. Meanwhile
    #: the caller's frames wait in the socket (nothing is lost). Raise
    #: :class:`~trio_plivo.CallRefused` to refuse the call. A :class:`~trio_plivo.call.CallHooks`
    #: handler's own ``on_connect`` hooks run too. Not for :meth:`handle_transport` (the
    #: embedding app has the request).
    on_connect: ConnectHook | None = None
    #: With a signature validator: refuse (403) an upgrade whose signature nonce this process
    #: saw within this many seconds, a replay of a captured request (0 turns it off).
    replay_window_s: float = 600.0
    #: Remember the nonces here instead (its own window applies), e.g. an entered
    #: :class:`~trio_plivo.fleet.RedisNonceCache` every process shares, so a replay landing on
    #: another worker or machine is refused too; when it fails, the upgrade gets a 503.
    nonce_cache: NonceCache | None = attrs.field(default=None, repr=False)
    #: Extra plain-HTTP routes, tried first (e.g. a health check).
    http_routes: Sequence[HTTPRoute] = ()

    #: The live calls by call id and stream id (see :class:`~trio_plivo.call.CallRegistry`).
    calls: CallRegistry = attrs.field(factory=CallRegistry, init=False)
    #: Handshakes refused before the upgrade, by HTTP status (403, 404, 503 ...).
    refusals: Counter[int] = attrs.field(factory=Counter, init=False)
    #: Upgrades refused because their signature's nonce was seen before (replays).
    replays: int = attrs.field(default=0, init=False)
    #: Signed upgrades refused (503) because ``nonce_cache`` could not answer.
    replay_check_failures: int = attrs.field(default=0, init=False)
    _nonces: LocalNonceCache | None = attrs.field(default=None, init=False)
    _active: int = attrs.field(default=0, init=False)
    #: Cancel scopes of the calls run through handle_transport (in their callers' tasks).
    _embedded: set[trio.CancelScope] = attrs.field(factory=set, init=False)
    _total: int = attrs.field(default=0, init=False)
    _draining: bool = attrs.field(default=False, init=False)
    _idle: trio.Event = attrs.field(factory=trio.Event, init=False)
    _accept_scope: trio.CancelScope | None = attrs.field(default=None, init=False)
    _shutdown_requested: trio.Event = attrs.field(factory=trio.Event, init=False)
    _calls_nursery: trio.Nursery | None = attrs.field(default=None, init=False)
    listeners: list[trio.SocketListener] = attrs.field(factory=list, init=False)

    @property
    def active_calls(self) -> int:
        """Calls in progress right now."""
        return self._active

    @property
    def total_calls(self) -> int:
        """Calls accepted since the server started."""
        return self._total

    @property
    def draining(self) -> bool:
        """True once :meth:`shutdown` was called (health checks report it)."""
        return self._draining

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        if not self.listeners:
            raise RuntimeError("the server is not listening")
        return int(self.listeners[0].socket.getsockname()[1])

    # --- running --------------------------------------------------------------------------

    async def serve(
        self,
        host: str | None = "127.0.0.1",
        port: int = 8000,
        *,
        handle_connection: ConnectionHandler | None = None,
        task_status: trio.TaskStatus[StreamServer] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on ``host:port`` and serve until :meth:`shutdown` (or cancellation)."""
        listeners = await trio.open_tcp_listeners(port, host=host)
        await self.serve_listeners(
            listeners, handle_connection=handle_connection, task_status=task_status
        )

    async def serve_listeners(
        self,
        listeners: Sequence[trio.SocketListener],
        *,
        handle_connection: ConnectionHandler | None = None,
        task_status: trio.TaskStatus[StreamServer] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve on already-open listeners until :meth:`shutdown`; ``task_status`` gets the
        server itself once it is accepting.

        ``handle_connection`` runs each accepted connection instead of :meth:`handle_stream`
        (which it may delegate to): the one-port front of :mod:`trio_plivo.web` answers
        plain HTTP there and passes WebSocket upgrades on. Connections it serves still drain
        and cancel with the calls on shutdown.
        """
        handle = self.handle_stream if handle_connection is None else handle_connection
        self.listeners = list(listeners)
        try:
            async with trio.open_nursery() as calls:
                self._calls_nursery = calls
                async with trio.open_nursery() as accepting:
                    self._accept_scope = accepting.cancel_scope
                    for listener in self.listeners:
                        accepting.start_soon(self._accept_loop, listener, calls, handle)
                    task_status.started(self)
                    await self._shutdown_requested.wait()
                    # Draining: still listening, so a health check gets "draining" (503) and a
                    # new upgrade a 503, while the active calls get the grace period.
                    if self._active:
                        logger.info("draining %d active call(s)", self._active)
                        self._idle = trio.Event()
                        with trio.move_on_after(self.shutdown_grace):
                            await self._idle.wait()
                    accepting.cancel_scope.cancel()
                for listener in self.listeners:
                    await listener.aclose()
                calls.cancel_scope.cancel()
                for embedded in list(self._embedded):  # handle_transport calls drain too
                    embedded.cancel()
        finally:
            for listener in self.listeners:
                await trio.aclose_forcefully(listener)

    def shutdown(self) -> None:
        """Drain: new calls are refused with 503 (still listening, so a health check gets its
        answer); active calls finish (up to ``shutdown_grace``), then
        :meth:`serve` returns. Safe to call more than once, or before serving."""
        self._draining = True
        self._shutdown_requested.set()

    async def _accept_loop(
        self, listener: trio.SocketListener, calls: trio.Nursery, handle: ConnectionHandler
    ) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno in _ACCEPT_CAPACITY_ERRORS:
                    logger.warning("accept failed (%s); retrying", errno.errorcode[exc.errno])
                    await trio.sleep(_ACCEPT_RETRY_S)
                    continue
                raise
            if self.ssl_context is not None:
                tls = trio.SSLStream(
                    stream, self.ssl_context, server_side=True, https_compatible=True
                )
                calls.start_soon(handle, tls)
            else:
                calls.start_soon(handle, stream)

    # --- one connection -------------------------------------------------------------------

    async def handle_stream(
        self, stream: trio.abc.Stream, *, handshake_deadline: float | None = None
    ) -> None:
        """Serve one accepted connection: handshake (or a plain HTTP answer), then the call.
        Never raises except for cancellation. ``handshake_deadline`` (Trio clock) replaces
        :attr:`handshake_timeout` when a front already spent part of it reading the request
        line: one deadline for the whole request head, whichever path it takes."""
        admitted = False

        def route(asked: HandshakeRequest) -> HTTPResponse | Awaitable[HTTPResponse | None] | None:
            # The call's slot is taken here, before the 101 is written, so connections that
            # arrive together can never all pass max_calls (the handshakes interleave).
            nonlocal admitted
            answer = self._route(asked)
            if answer is None:
                admitted = True
                self._admit()
                if self.nonce_cache is not None and self.signature_validator is not None:
                    return shared_check(self.nonce_cache, asked)  # awaited, same deadline
            return answer

        async def shared_check(cache: NonceCache, request: HandshakeRequest) -> HTTPResponse | None:
            nonlocal admitted
            answer = await check_shared_nonce(cache, request)
            if answer is not None:  # the slot taken above is given back
                admitted = False
                self._release()
                self._refused(request, answer)
            return answer

        try:
            ws = await accept_websocket(
                stream,
                route=route,
                max_message_size=self.max_message_size,
                handshake_timeout=_remaining(self.handshake_timeout, handshake_deadline),
                close_timeout=self.close_timeout,
            )
            if ws is not None and await self._connected(ws):
                await self._run_call(ws, None)
        except Exception:
            logger.exception("connection failed")
        finally:
            if admitted:
                self._release()
            await trio.aclose_forcefully(stream)

    async def _connected(self, ws: WebSocket) -> bool:
        """Run the on-connect hooks; False (the socket closed) when one refused the call."""
        hooks = [self.on_connect] if self.on_connect is not None else []
        hooks += getattr(self.handler, "connect_hooks", ())
        return await run_connect_hooks(hooks, ws.request, ws)

    async def handle_transport(
        self, transport: MessageTransport, *, codec: ProviderCodec | None = None
    ) -> None:
        """Run the handler on one already-upgraded connection (with ``codec``, default one
        from :attr:`codec_factory`), for an app that accepted the WebSocket itself (another
        web framework, ``trio-websocket``). Never raises except for cancellation.

        The same admission, counting and drain as a call on the server's own port: past
        :attr:`max_calls`, or once :meth:`shutdown` was called, the connection is closed with
        1013 (try again later) before any handler code runs; a call still running when the
        drain's grace period ends is cancelled with the others. What cannot apply here is the
        embedding app's to check before calling: the path, and the request's signature.
        """
        refusal = self._refusal()
        if refusal is not None:
            logger.warning("refused an embedded call: %s", refusal)
            await transport.aclose(1013, refusal)
            return
        self._admit()
        try:
            with trio.CancelScope() as scope:
                self._embedded.add(scope)
                try:
                    await self._run_call(transport, codec)
                finally:
                    self._embedded.discard(scope)
        finally:
            self._release()

    def _refusal(self) -> str | None:
        """Why a new call cannot start now (``None`` when it can)."""
        if self._draining:
            return "shutting down"
        if self.max_calls is not None and self._active >= self.max_calls:
            return "too many calls"
        return None

    def _admit(self) -> None:
        self._active += 1

    def _release(self) -> None:
        self._active -= 1
        if self._active == 0:
            self._idle.set()

    async def _run_call(self, transport: MessageTransport, codec: ProviderCodec | None) -> None:
        self._total += 1
        await serve_call(
            transport,
            self.handler,
            codec=self.codec_factory() if codec is None else codec,
            config=self.config,
            handler_grace=self.handler_grace,
            registry=self.calls,
        )

    def _route(self, request: HandshakeRequest) -> HTTPResponse | None:
        for route in self.http_routes:
            answer = route(request)
            if answer is not None:
                return answer
        not_here = request.path != self.path
        refused = HTTPResponse(404, b"not found\n") if not_here else self._refuse(request)
        if refused is not None:
            self._refused(request, refused)
        else:
            logger.debug("upgrading %s from %s", request.path, request.remote)
        return refused

    def _refuse(self, request: HandshakeRequest) -> HTTPResponse | None:
        """The answer that refuses an upgrade to the stream's path (capacity, drain, the
        signature, a replay in this process), or ``None`` to accept it; ASGI asks it too."""
        refusal = self._refusal()
        if refusal is not None:
            return HTTPResponse(503, f"{refusal}\n".encode())
        if self.signature_validator is None:
            return None
        # This process's nonces are checked here; a shared cache's when awaited, just after.
        if self._nonces is None and self.nonce_cache is None and self.replay_window_s > 0:
            self._nonces = LocalNonceCache(self.replay_window_s)
        local = self._nonces if self.nonce_cache is None else None
        return check_signature(self.signature_validator, request, local)

    def _refused(self, request: HandshakeRequest, refused: HTTPResponse) -> None:
        count_refusal(self, refused)
        log_refusal(request, refused)


def _remaining(timeout: float, deadline: float | None) -> float:
    """Seconds left: ``timeout``, or what remains until ``deadline`` when there is one."""
    return timeout if deadline is None else max(0.0, deadline - trio.current_time())


async def serve(
    handler: CallHandler,
    host: str | None = "127.0.0.1",
    port: int = 8000,
    *,
    path: str = "/stream",
    task_status: trio.TaskStatus[StreamServer] = trio.TASK_STATUS_IGNORED,
    **options: Any,
) -> None:
    """Serve ``handler`` on ``ws://host:port/path`` until the server is shut down.

    Usable with ``await nursery.start(serve, handler, "127.0.0.1", 0)``, which returns the
    :class:`StreamServer` (read ``.port`` for the bound port). ``options`` are
    :class:`StreamServer` fields (``config``, ``max_calls``, ``signature_validator`` ...).
    """
    server = StreamServer(handler, path=path, **options)
    await server.serve(host, port, task_status=task_status)
