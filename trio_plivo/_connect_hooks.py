"""Running ``on_connect`` hooks between the upgrade and the call's ``start``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence

from ._exceptions import CallRefused
from .ws import HandshakeRequest, WebSocket

__all__ = ["ConnectHook", "run_connect_hooks"]

logger = logging.getLogger("trio_plivo.server")

#: ``on_connect(request)``: sync or async; raise :class:`~trio_plivo.CallRefused` to refuse.
ConnectHook = Callable[[HandshakeRequest], Awaitable[None] | None]


async def run_connect_hooks(hooks: Sequence[ConnectHook], ws: WebSocket) -> bool:
    """Run ``hooks`` in order with the upgrade request; False once one refused the call
    (the WebSocket is then closed with the refusal's code and reason)."""
    if not hooks or ws.request is None:
        return True
    try:
        for hook in hooks:
            result = hook(ws.request)
            if inspect.isawaitable(result):
                await result
    except CallRefused as refusal:
        logger.info("on_connect refused %s: %s", ws.request.path, refusal.reason)
        await ws.aclose(refusal.code, refusal.reason)
        return False
    return True
