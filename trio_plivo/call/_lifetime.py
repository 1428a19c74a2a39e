"""A call's lifetime: its ``start`` received before anything runs, its three tasks in one
nursery, and ``open_call`` around the application's block."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from .._exceptions import CallClosed, ConnectionClosed, is_call_end
from ..protocol import PlivoCodec, ProviderCodec, StreamState
from ..transport import MessageTransport
from ._call import Call
from ._config import CallConfig

__all__ = ["open_call", "receive_start", "run_tasks"]

logger = logging.getLogger("trio_plivo.call")

#: Messages before the start that the codec cannot read, beyond which the stream is refused
#: (a tenth of a second of another provider's media).
_MALFORMED_BEFORE_START = 5


async def receive_start(call: Call) -> None:
    """Read until the provider's ``start`` (before any task runs)."""
    with trio.move_on_after(call._config.start_timeout):
        while call._start is None:
            try:
                message = await call._transport.receive_message()
            except ConnectionClosed as exc:
                call._finish(exc.code, exc.reason)
                call._transport_closed = True
                raise CallClosed(f"closed before start: {exc.reason}", code=exc.code) from None
            call._reader.handle(message)
            if call._start is None and call._reader.malformed > _MALFORMED_BEFORE_START:
                # A stray message before the start is skipped; a peer that keeps sending what
                # this codec cannot read speaks another protocol, and will never start.
                provider = call._codec.provider
                reason = f"not a {provider} stream opening (serve --provider auto detects it)"
                logger.warning("refused a stream: %s", reason)
                await call.aclose(1008, reason)
                raise CallClosed(reason, code=1008)
            if call._start is None and call._codec.state is StreamState.ENDED:
                # The codec gave up on this stream (e.g. provider detection saw a first
                # message it cannot place): no start will ever be understood.
                await call.aclose(1008, "unrecognised stream protocol")
                raise CallClosed("unrecognised stream protocol", code=1008)
    if call._start is None:
        await call.aclose(1008, "no start message")
        raise CallClosed(f"no start message within {call._config.start_timeout} s", code=1008)


async def run_tasks(
    call: Call, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    try:
        async with trio.open_nursery() as tasks:
            call._tasks = tasks
            if call._closing:  # ended while receiving start (e.g. a stop right after it)
                tasks.cancel_scope.cancel()
            tasks.start_soon(call._reader.run, name="trio_plivo.call.reader")
            tasks.start_soon(call._playback.run, name="trio_plivo.call.sender")
            tasks.start_soon(call._tracker.run, name="trio_plivo.call.marks")
            task_status.started()
    except BaseException as exc:
        if not _only_cancelled(exc):
            # A crashed task (a bug) still leaves no mark waiting, no operation hanging.
            logger.exception("call %s: internal error in a call task", call.call_id)
            call._finish(1011, "internal error")
        raise


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(trio.Cancelled)[1] is None
    return isinstance(exc, trio.Cancelled)


@asynccontextmanager
async def open_call(
    transport: MessageTransport,
    *,
    codec: ProviderCodec | None = None,
    config: CallConfig | None = None,
) -> AsyncIterator[Call]:
    """Run a call on ``transport`` for the duration of the ``async with`` block.

    Receives the provider's ``start`` (up to ``config.start_timeout``; otherwise the transport
    is closed with 1008 and :class:`CallClosed` raised) before entering the block, so metadata
    such as :attr:`Call.stream_id` is available at once. The call's tasks run in a nursery
    owned by the block. Leaving the block closes the call with 1000 (1011 if the block raised,
    1001 if it was cancelled); the block's own exception propagates as itself, not wrapped in
    an exception group.

    When the call ends remotely the block is *not* cancelled: the event iterator ends and
    further operations raise :class:`CallClosed`. (The server's handler wrapper adds a grace
    period and then cancels the handler.)
    """
    call = Call(
        transport,
        codec if codec is not None else PlivoCodec(),
        config if config is not None else CallConfig(),
    )
    await receive_start(call)
    body_error: Exception | None = None
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tasks, call)
        try:
            yield call
        except Exception as exc:
            body_error = exc
            if is_call_end(exc):  # the body only saw the call end: not an error
                await call.aclose(1000)
            else:
                await call.aclose(1011, "internal error")
        except BaseException:
            await call.aclose(1001, "going away")
            raise
        else:
            await call.aclose(1000)
    if body_error is not None:
        raise body_error
