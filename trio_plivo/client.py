"""Client mode: the application dials the stream server instead of accepting its connection.

Some deployments turn the usual direction around: a media gateway (a provider's stream
relay, a SIP bridge, a test harness) *listens*, and the voice app connects to it and is then
sent the same ``start``/``media`` messages a provider would send. :func:`connect` runs the
same :class:`~trio_plivo.Call` per stream over such an outgoing connection, and reconnects
when it drops::

    async def bot(call: Call) -> None:
        async for event in call:
            ...

    trio.run(partial(connect, "wss://gateway.example/stream", bot, codec="twilio"))

Theory of operation: one loop, one connection at a time. Each attempt opens a WebSocket
(:func:`trio_plivo.ws.connect_websocket`) and serves one call on it
(:func:`trio_plivo.call.serve_call`, which never raises for a failing call). A stream that
started counts as success: the next connection is opened at once. A connection that could
not be opened, was refused, or closed before ``start`` counts as a failure: the next attempt
waits an exponentially growing delay with jitter, capped, and ``max_attempts`` consecutive
failures give up by raising the last error. One log line per attempt. Cancelling the caller
cancels whatever is in progress -- a backoff sleep, a handshake or the call (closed with 1001)
-- and nothing outlives it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence

import trio

from ._exceptions import ConfigurationError
from .call import CallConfig, CallHandler, serve_call
from .protocol import ProviderCodec
from .protocol._registry import codec_factory_for
from .transport import MessageTransport
from .ws import WebSocketHandshakeError, connect_websocket

__all__ = ["Backoff", "Connector", "backoff_delays", "connect"]

logger = logging.getLogger("trio_plivo.client")

#: ``(initial, maximum, jitter)``: the first retry delay in seconds, the cap, and the jitter
#: as a fraction of each delay (0.2 spreads a 10 s delay over 8-12 s).
Backoff = tuple[float, float, float]
HeaderItems = Mapping[str, str] | Sequence[tuple[str, str]]
#: Opens one connection: ``(url, headers) -> transport``. The default uses our WebSocket
#: client; tests pass one over memory transports.
Connector = Callable[[str, HeaderItems], Awaitable[MessageTransport]]

#: What a failed attempt may raise (everything else -- a bad URL, a bug -- propagates).
_RETRYABLE = (OSError, WebSocketHandshakeError, trio.BrokenResourceError)


def backoff_delays(
    initial: float, maximum: float, jitter: float, *, rng: random.Random | None = None
) -> Iterator[float]:
    """Retry delays: ``initial``, doubling up to ``maximum``, each scaled by a random factor
    in ``[1 - jitter, 1 + jitter]`` (so many clients do not retry in lockstep).

    Raises :class:`~trio_plivo.ConfigurationError` for settings that make no sense.
    """
    if not initial > 0 or not maximum >= initial:
        raise ConfigurationError(
            f"backoff needs 0 < initial <= maximum, got initial={initial}, maximum={maximum}"
        )
    if not 0 <= jitter < 1:
        raise ConfigurationError(f"backoff jitter must be in [0, 1), got {jitter}")
    uniform = (rng or random.Random()).uniform
    delay = initial
    while True:
        yield delay * (1 + uniform(-jitter, jitter)) if jitter else delay
        delay = min(maximum, delay * 2)


async def _open_websocket(url: str, headers: HeaderItems) -> MessageTransport:
    return await connect_websocket(url, headers=headers)


def _codec_factory(codec: str | Callable[[], ProviderCodec]) -> Callable[[], ProviderCodec]:
    if isinstance(codec, str):
        return codec_factory_for(codec)
    if not callable(codec):
        raise ConfigurationError(f"codec must be a provider name or a factory, got {codec!r}")
    return codec


async def connect(
    url: str,
    handler: CallHandler,
    *,
    codec: str | Callable[[], ProviderCodec] = "auto",
    config: CallConfig | None = None,
    reconnect: bool = True,
    backoff: Backoff = (0.5, 30.0, 0.2),
    max_attempts: int | None = None,
    headers: HeaderItems = (),
    handler_grace: float = 1.0,
    connector: Connector | None = None,
    rng: random.Random | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Dial ``url`` and run ``handler`` on the call that arrives over the connection.

    ``codec`` is a provider name (``"plivo"``, ``"twilio"`` ..., default ``"auto"``:
    detect from the first message) or a factory making one codec per stream. With
    ``reconnect`` (the default) this runs until cancelled: after each stream it connects
    again, and after a failure it retries with ``backoff`` delays; ``max_attempts`` bounds
    the consecutive failures (``None``: never give up), after which the last error
    (``OSError``, :class:`~trio_plivo.ws.WebSocketHandshakeError` ...) is raised. Without
    ``reconnect`` it serves one stream and returns (or raises the connection error).

    ``headers`` go on every upgrade request (e.g. an ``Authorization`` for the gateway;
    they are never logged). With ``nursery.start(connect, ...)`` the start completes once
    the first connection is open.
    """
    make_codec = _codec_factory(codec)
    open_connection = connector if connector is not None else _open_websocket
    if max_attempts is not None and max_attempts < 1:
        raise ConfigurationError(f"max_attempts must be at least 1, got {max_attempts}")
    delays = backoff_delays(*backoff, rng=rng)
    started = False
    failures = 0
    attempt = 0
    while True:
        attempt += 1
        error: BaseException | None = None
        try:
            transport = await open_connection(url, headers)
        except _RETRYABLE as exc:
            error = exc
        else:
            logger.info("connected to %s (attempt %d)", url, attempt)
            if not started:
                started = True
                task_status.started()
            try:
                call = await serve_call(
                    transport,
                    handler,
                    codec=make_codec(),
                    config=config,
                    handler_grace=handler_grace,
                )
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await transport.aclose()
            if not reconnect:
                return
            if call is not None:  # a stream ran: connect again at once, fresh backoff
                failures = 0
                delays = backoff_delays(*backoff, rng=rng)
                continue
        failures += 1
        reason = str(error) if error is not None else "closed before the stream started"
        if not reconnect or (max_attempts is not None and failures >= max_attempts):
            logger.warning(
                "connecting to %s: attempt %d failed (%s); giving up", url, attempt, reason
            )
            if error is not None:
                raise error
            raise ConnectionRefusedError(f"{url}: {failures} attempts failed ({reason})")
        delay = next(delays)
        logger.warning(
            "connecting to %s: attempt %d failed (%s); retrying in %.2f s",
            url,
            attempt,
            reason,
            delay,
        )
        await trio.sleep(delay)
