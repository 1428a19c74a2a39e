"""Running an application handler on a call: the unit the server runs per connection."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from .._exceptions import CallClosed, is_call_end
from ..protocol import ProviderCodec
from ..transport import MessageTransport
from ._call import Call
from ._config import CallConfig
from ._lifetime import open_call
from ._registry import CallRegistry, LiveCall

__all__ = ["CallHandler", "serve_call"]

logger = logging.getLogger("trio_plivo.call")

#: An application: an async function run once per call, for as long as it wants the call.
CallHandler = Callable[[Call], Awaitable[None]]


async def serve_call(
    transport: MessageTransport,
    handler: CallHandler,
    *,
    codec: ProviderCodec | None = None,
    config: CallConfig | None = None,
    handler_grace: float = 1.0,
    registry: CallRegistry | None = None,
) -> Call | None:
    """Run ``handler`` on the call arriving over ``transport``; return the finished call.

    Never raises for a failing call: a handler exception is logged with the call id and closes
    the call with 1011, a call that never starts is logged. (Cancellation still propagates.)
    When the call ends remotely (hang-up, ``stop``), the handler gets ``handler_grace``
    seconds to finish -- drain the last events, write its notes -- and is then cancelled, so
    nothing it started outlives the call. A handler may also just return (the call is then
    closed with 1000), or let :class:`~trio_plivo.CallClosed` escape from ``play`` & co after
    a hang-up: that counts as a normal end. With a ``registry`` the call is listed there from
    its start until the moment it ends.
    """
    call: Call | None = None
    try:
        async with open_call(transport, codec=codec, config=config) as call:
            logger.info("call %s started (stream %s)", call.call_id, call.stream_id)
            # Names only: header values may carry customers' data or tokens.
            logger.debug(
                "call %s: %s stream, %s, extra headers %s",
                call.call_id,
                call.provider,
                call.media_format.to_content_type(),
                sorted(call.extra_headers) or "none",
            )
            live = registry.add(call) if registry is not None else None
            try:
                await _run_handler(call, handler, handler_grace, lambda: _unlist(registry, live))
            finally:
                _unlist(registry, live)
    except CallClosed as exc:
        if call is None:
            logger.warning("connection closed before the stream started: %s", exc)
    except Exception as exc:
        if not is_call_end(exc):  # CallClosed out of the handler's own nursery: a hang-up
            logger.exception(
                "call %s: handler failed; closed with 1011", call.call_id if call else None
            )
    finally:
        # Also when cancelled (a drain that ran out of grace): every call that started says
        # how it ended.
        if call is not None:
            _log_end(call)
    return call


def _log_end(call: Call) -> None:
    stats = call.statistics()
    logger.info(
        "call %s ended (code %s: %s; %d frames in, %d out, %d dropped, %d malformed)",
        call.call_id,
        call.close_code,
        call.close_reason or "cancelled",
        stats.frames_received,
        stats.frames_sent,
        stats.frames_dropped,
        stats.malformed_messages,
    )


def _unlist(registry: CallRegistry | None, live: LiveCall | None) -> None:
    if registry is not None and live is not None:
        registry.remove(live)


async def _run_handler(
    call: Call, handler: CallHandler, grace: float, ended: Callable[[], None]
) -> None:
    async with trio.open_nursery() as nursery:

        async def cancel_after_end() -> None:
            await call.wait_ended()
            ended()  # gone from the registry at once, not after the handler's grace
            await trio.sleep(grace)
            nursery.cancel_scope.cancel()

        nursery.start_soon(cancel_after_end)
        try:
            await handler(call)
        except Exception as exc:
            if not is_call_end(exc):
                raise
            # the handler noticed the hang-up (perhaps in a nursery of its own): a normal way out
        finally:
            nursery.cancel_scope.cancel()
