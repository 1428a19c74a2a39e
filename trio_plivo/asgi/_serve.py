"""One ASGI WebSocket connection served as a call of a :class:`~trio_plivo.server.StreamServer`:
the same refusals before the upgrade, the same ``on_connect`` hooks, then
:meth:`~trio_plivo.server.StreamServer.handle_transport` (admission, counting, drain)."""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, cast

from .._exceptions import CallRefused, ConnectionClosed, FleetError
from .._upgrade_signature import upgrade_signed
from ..fleet._nonces import LocalNonceCache
from ..signatures import NONCE_HEADER
from ._transport import ASGIReceive, ASGIScope, ASGISend, ASGIWebSocketTransport, handshake_request

if TYPE_CHECKING:
    from .._connect_hooks import ConnectHook
    from ..fleet._nonces import NonceCache
    from ..protocol import ProviderCodec
    from ..server import StreamServer
    from ..ws import HandshakeRequest

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
    refusal = await _refusal(server, request)
    if refusal is not None:
        await refuse(server, transport, request, *refusal)
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
    status: int,
    reason: str,
) -> None:
    """Deny the upgrade with ``status`` and count it in ``server.refusals``."""
    server.refusals[status] += 1
    logger.debug("refused %s from %s: %d %s", request.path, request.remote, status, reason)
    await transport.deny(status, reason)


async def _refusal(server: StreamServer, request: HandshakeRequest) -> tuple[int, str] | None:
    """``(status, reason)`` refusing this upgrade, or ``None`` to go on (the native order:
    capacity, then the signature, then a replay)."""
    if server.draining:
        return 503, "shutting down"
    if server.max_calls is not None and server.active_calls >= server.max_calls:
        return 503, "too many calls"
    validator = server.signature_validator
    if validator is None:
        return None
    if not upgrade_signed(validator, request):
        logger.warning("refused an upgrade with a missing or invalid Plivo signature")
        return 403, "invalid signature"
    nonce = request.headers.get(NONCE_HEADER)
    cache = _nonce_cache(server)
    if nonce is None or cache is None:
        return None
    try:
        seen = await cache.seen_before(nonce)
    except (FleetError, OSError) as exc:
        logger.warning(
            "refused a signed upgrade with 503: the replay check failed (%s)", type(exc).__name__
        )
        return 503, "cannot check the signature for a replay now"
    if seen:
        server.replays += 1
        logger.warning("refused a replayed upgrade (its signature's nonce was seen before)")
        return 403, "replayed signature"
    return None


def _nonce_cache(server: StreamServer) -> NonceCache | None:
    """Where ``server`` remembers signature nonces: a shared cache it was given, else its own
    memory (created as the native path creates it), so a nonce seen on either path is a
    replay on both; ``None`` when replay checks are off."""
    shared = cast("NonceCache | None", getattr(server, "nonce_cache", None))
    if shared is not None:
        return shared
    if server.replay_window_s <= 0:
        return None
    if server._nonces is None:
        server._nonces = LocalNonceCache(server.replay_window_s)
    return server._nonces


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
        for hook in hooks:
            result = hook(request)
            if inspect.isawaitable(result):
                await result
    except CallRefused as refusal:
        logger.info("on_connect refused %s: %s", request.path, refusal.reason)
        await transport.aclose(refusal.code, refusal.reason)
        return False
    except Exception:
        logger.exception("on_connect failed for %s; closed with 1011", request.path)
        await transport.aclose(1011, "internal error")
        return False
    return True
