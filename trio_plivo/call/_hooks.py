"""Callback-style handlers, for people coming from the official Plivo SDKs.

::

    hooks = CallHooks()

    @hooks.on_media
    async def media(call, event):
        await call.play(event.payload)

    serve(hooks, port=8000)   # a CallHooks is a handler like any other

Built on the same :class:`Call` as everything else. **How the hooks run** (the one place this
is stated): each kind of event has its own lane, a task that runs that kind's callbacks one
event at a time, in order; different kinds run concurrently, as the official SDKs' callbacks
do. So a slow ``on_start`` (``await call.wait_played(...)``) or ``on_media`` never delays
``on_dtmf``, ``on_cleared_audio`` or ``on_stop``: a key press reaches its hook while the
greeting plays, in time to barge in. ``on_event`` callbacks have a lane of their own and see
every event in order. A lane that falls behind keeps the newest events (media: the newest
2 s) and counts what it dropped. Sync and async callbacks both work; the hooks never run in
the call's reader, so a slow hook never stalls the socket.

**When a callback raises**: the ``on_error`` callbacks get the exception, or without any it is
logged with the call's id; either way the call goes on. Only an ``on_start`` failure ends the
call (with 1011, after ``on_error``): the call was never set up. A callback that finds the call
already over (:class:`~trio_plivo.CallClosed`) just ends its lane. ``on_close`` runs once, after
every lane has finished.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from .._exceptions import is_call_end
from ..protocol import (
    ClearedAudio,
    Dtmf,
    InboundEvent,
    Media,
    PlayedStream,
    PlayFailed,
    Start,
    Stop,
    StreamError,
)
from ._call import Call

__all__ = ["CallHooks"]

EventCallback = Callable[[Call, Any], Awaitable[None] | None]
ErrorCallback = Callable[[Call, Exception], Awaitable[None] | None]
CloseCallback = Callable[[Call], Awaitable[None] | None]
_F = TypeVar("_F", bound=Callable[..., Any])

logger = logging.getLogger("trio_plivo.call")

#: Events a lane holds before it drops the oldest: media, 2 s of 20 ms frames; other kinds
#: (key presses, acknowledgements) are rare, so this bound is only against a stuck hook.
_MEDIA_BACKLOG = 100
_BACKLOG = 1000

_KINDS: dict[type, str] = {
    Start: "start",
    Media: "media",
    Dtmf: "dtmf",
    PlayedStream: "played_stream",
    ClearedAudio: "cleared_audio",
    Stop: "stop",
    PlayFailed: "play_failed",
    StreamError: "stream_error",
}


class CallHooks:
    """A registry of per-event callbacks that is itself a call handler.

    Register with the decorators (``on_start``, ``on_media``, ``on_dtmf``,
    ``on_played_stream``, ``on_cleared_audio``, ``on_stop``, ``on_event`` for every event,
    ``on_error``, ``on_close``); several callbacks per event run in registration order.
    """

    def __init__(self) -> None:
        self._callbacks: dict[str, list[EventCallback]] = {}
        self._error: list[ErrorCallback] = []
        self._close: list[CloseCallback] = []
        self._connect: list[Callable[..., Any]] = []

    def _register(self, kind: str) -> Callable[[_F], _F]:
        def decorator(fn: _F) -> _F:
            self._callbacks.setdefault(kind, []).append(fn)
            return fn

        return decorator

    def on_connect(self, fn: _F) -> _F:
        """``fn(request)``: the WebSocket upgrade request (path, query, headers, peer), after
        the upgrade and before ``start`` is read (see ``StreamServer.on_connect``): set up
        what the call needs; the caller's audio waits, none is lost. Raise
        :class:`~trio_plivo.CallRefused` to refuse the call."""
        self._connect.append(fn)
        return fn

    @property
    def connect_hooks(self) -> tuple[Callable[..., Any], ...]:
        """The ``on_connect`` callbacks, in registration order (the server runs them)."""
        return tuple(self._connect)

    def on_start(self, fn: _F) -> _F:
        """``fn(call, start)``: the stream started (metadata is also on ``call``)."""
        return self._register("start")(fn)

    def on_media(self, fn: _F) -> _F:
        """``fn(call, media)``: a chunk of caller audio (``media.payload``, wire format)."""
        return self._register("media")(fn)

    def on_dtmf(self, fn: _F) -> _F:
        """``fn(call, dtmf)``: the caller pressed ``dtmf.digit``."""
        return self._register("dtmf")(fn)

    def on_played_stream(self, fn: _F) -> _F:
        """``fn(call, played)``: the checkpoint ``played.name`` was reached (prefer
        ``await (await call.mark()).wait()``, which also tells you about clears)."""
        return self._register("played_stream")(fn)

    def on_cleared_audio(self, fn: _F) -> _F:
        """``fn(call, cleared)``: the provider confirmed a clear."""
        return self._register("cleared_audio")(fn)

    def on_stop(self, fn: _F) -> _F:
        """``fn(call, stop)``: the provider ended the stream."""
        return self._register("stop")(fn)

    def on_event(self, fn: _F) -> _F:
        """``fn(call, event)``: every inbound event, after the specific callbacks."""
        return self._register("*")(fn)

    def on_error(self, fn: _F) -> _F:
        """``fn(call, exception)``: a callback raised (the call goes on, unless it was
        ``on_start``; see the module's notes)."""
        self._error.append(fn)
        return fn

    def on_close(self, fn: _F) -> _F:
        """``fn(call)``: the call is over (always called, once)."""
        self._close.append(fn)
        return fn

    async def __call__(self, call: Call) -> None:
        lanes: dict[str, _Lane] = {}
        try:
            async with trio.open_nursery() as nursery:
                async for event in call:
                    kind = _KINDS.get(type(event))
                    if kind is not None and kind in self._callbacks:
                        self._lane(lanes, nursery, call, kind).push(event)
                    if "*" in self._callbacks:
                        self._lane(lanes, nursery, call, "*").push(event)
                for lane in lanes.values():
                    lane.close()  # each finishes what it holds, then its task ends
        finally:
            for close in self._close:
                await _maybe_await(close(call))

    def _lane(self, lanes: dict[str, _Lane], nursery: trio.Nursery, call: Call, kind: str) -> _Lane:
        lane = lanes.get(kind)
        if lane is None:
            lane = lanes[kind] = _Lane(kind, _MEDIA_BACKLOG if kind == "media" else _BACKLOG)
            nursery.start_soon(self._run_lane, call, lane, name=f"trio_plivo.hooks.{kind}")
        return lane

    async def _run_lane(self, call: Call, lane: _Lane) -> None:
        callbacks = self._callbacks[lane.kind]
        async for event in lane:
            for callback in callbacks:
                try:
                    await _maybe_await(callback(call, event))
                except Exception as exc:
                    if is_call_end(exc):
                        return  # the call is over: nothing more for this lane to do
                    await self._failed(call, lane.kind, exc)

    async def _failed(self, call: Call, kind: str, exc: Exception) -> None:
        for on_error in self._error:
            await _maybe_await(on_error(call, exc))
        if kind == "start":
            raise exc  # never set up: the call ends (1011)
        if not self._error:
            logger.error(
                "call %s: on_%s hook failed; the call goes on", call.call_id, kind, exc_info=exc
            )


class _Lane:
    """One kind's events waiting for its callbacks; when full, the oldest go (counted)."""

    def __init__(self, kind: str, limit: int) -> None:
        self.kind = kind
        self._events: deque[InboundEvent] = deque()
        self._limit = limit
        self._wake = trio.Event()
        self._closed = False
        self.dropped = 0

    def push(self, event: InboundEvent) -> None:
        if len(self._events) >= self._limit:
            self._events.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 500 == 0:
                logger.warning(
                    "on_%s hooks fall behind: %d events dropped", self.kind, self.dropped
                )
        self._events.append(event)
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    def __aiter__(self) -> _Lane:
        return self

    async def __anext__(self) -> InboundEvent:
        while not self._events:
            if self._closed:
                raise StopAsyncIteration
            await self._wake.wait()
            self._wake = trio.Event()
        return self._events.popleft()


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result
