"""Running ``on_connect`` hooks between the upgrade and the call's ``start``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence

from ._exceptions import CallRefused
from .transport import MessageTransport
from .ws import HandshakeRequest

__all__ = ["ConnectHook", "run_connect_hooks"]

logger = logging.getLogger("trio_plivo.server")

#: ``on_connect(request)``: sync or async; raise :class:`~trio_plivo.CallRefused` to refuse.
ConnectHook = Callable[[HandshakeRequest], Awaitable[None] | None]


async def run_connect_hooks(
    hooks: Sequence[ConnectHook], request: HandshakeRequest | None, transport: MessageTransport
) -> bool:
    """Run ``hooks`` in order with the upgrade ``request``; False once one refused the call
    (``transport`` is then closed with the refusal's code and reason). The server's own
    WebSockets and ASGI connections both come through here."""
    if not hooks or request is None:
        return True
    try:
        for hook in hooks:
            result = hook(request)
            if inspect.isawaitable(result):
                await result
    except CallRefused as refusal:
        logger.info("on_connect refused %s: %s", request.path, refusal.reason)
        await transport.aclose(refusal.code, refusal.reason)
        return False
    return True
