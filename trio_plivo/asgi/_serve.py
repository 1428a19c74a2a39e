"""One ASGI WebSocket connection served as a call of a :class:`~trio_plivo.server.StreamServer`:
the same refusals before the upgrade, the same ``on_connect`` hooks, then
:meth:`~trio_plivo.server.StreamServer.handle_transport` (admission, counting, drain)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .._connect_hooks import run_connect_hooks
from .._exceptions import ConnectionClosed
from .._upgrade_refusal import check_shared_nonce, count_refusal
from ._transport import ASGIReceive, ASGIScope, ASGISend, ASGIWebSocketTransport, handshake_request

if TYPE_CHECKING:
    from .._connect_hooks import ConnectHook
    from ..protocol import ProviderCodec
    from ..server import StreamServer
    from ..ws import HandshakeRequest, HTTPResponse

__all__ = ["serve_asgi_websocket"]

logger = logging.getLogger("trio_plivo.asgi")


async def serve_asgi_websocket(
    scope: ASGIScope,
    receive: ASGIReceive,
    send: ASGISend,
    server: StreamServer,
    *,
    codec: ProviderCodec | None = None,
    subprotocol: str | None = None,
) -> None:
    """Serve one ASGI WebSocket connection as a call of ``server``: the function for a route
    handler in an ASGI framework (Starlette: ``await serve_asgi_websocket(websocket.scope,
    websocket.receive, websocket.send, server)``, without accepting first).

    Before the upgrade, as on the server's own port: past ``server.max_calls`` or while it
    drains, a 503; with ``server.signature_validator``, a missing or invalid Plivo signature
    (checked against the URL the scope addressed, or the validator's ``public_url``) or a
    replayed one gets a 403 -- no application code runs. Refusals are counted in
    ``server.refusals``. Then the ``on_connect`` hooks (``server.on_connect`` and a
    :class:`~trio_plivo.call.CallHooks` handler's) run with the upgrade request built from the
    scope, after the accept, and the call runs through
    :meth:`~trio_plivo.server.StreamServer.handle_transport`. ``codec`` defaults to
    ``server.codec_factory()``. Returns when the call is over; never raises except for
    cancellation.

    Unlike the native server, a call is counted against ``max_calls`` once its hooks are done:
    calls that pass the first check together while hooks run may then be refused with 1013.
    """
    transport = ASGIWebSocketTransport(scope, receive, send, subprotocol=subprotocol)
    request = handshake_request(scope)
    refused = await _refusal(server, request)
    if refused is not None:
        await refuse(server, transport, request, refused)
        return
    if not await _connected(server, request, transport):
        return
    # Without hooks the WebSocket is still unaccepted here, so a call the server cannot admit
    # after all is refused before the upgrade (503), not closed after it.
    await server.handle_transport(transport, codec=codec)


async def refuse(
    server: StreamServer,
    transport: ASGIWebSocketTransport,
    request: HandshakeRequest,
    refused: HTTPResponse,
) -> None:
    """Deny the upgrade with ``refused``'s status and reason, counted as the server counts
    its own refusals."""
    reason = refused.body.decode(errors="replace").strip()
    count_refusal(server, refused)
    logger.debug("refused %s from %s: %d %s", request.path, request.remote, refused.status, reason)
    await transport.deny(refused.status, reason)


async def _refusal(server: StreamServer, request: HandshakeRequest) -> HTTPResponse | None:
    """The answer refusing this upgrade, or ``None`` to go on: the server's own checks in its
    order (capacity, the signature, a replay), the path aside since the ASGI app routed it."""
    refused = server._refuse(request)
    cache = server.nonce_cache
    if refused is None and cache is not None and server.signature_validator is not None:
        refused = await check_shared_nonce(cache, request)
    return refused


async def _connected(
    server: StreamServer, request: HandshakeRequest, transport: ASGIWebSocketTransport
) -> bool:
    """Accept and run the ``on_connect`` hooks, when there are any; False when the client left
    or a hook refused the call (the WebSocket is then closed with the refusal's code)."""
    hooks: list[ConnectHook] = [server.on_connect] if server.on_connect is not None else []
    hooks += getattr(server.handler, "connect_hooks", ())
    if not hooks:
        return True
    try:
        await transport.accept()
    except ConnectionClosed:
        return False
    try:
        return await run_connect_hooks(hooks, request, transport)
    except Exception:
        logger.exception("on_connect failed for %s; closed with 1011", request.path)
        await transport.aclose(1011, "internal error")
        return False
