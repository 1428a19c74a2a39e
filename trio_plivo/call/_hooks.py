"""Callback-style handlers, for people coming from the official Plivo SDKs.

::

    hooks = CallHooks()

    @hooks.on_media
    async def media(call, event):
        await call.play(event.payload)

    serve(hooks, port=8000)   # a CallHooks is a handler like any other

Built on the same :class:`Call` as everything else: the hooks run one at a time, in event
order, in the handler's task -- never in the reader -- so a slow ``on_media`` makes the call
drop old audio (counted in ``statistics()``) instead of stalling the socket. Sync and async
callbacks both work. A callback that raises goes to ``on_error`` callbacks when there are any
(the call goes on), and otherwise ends the call with 1011, like any handler exception.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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

    def _register(self, kind: str) -> Callable[[_F], _F]:
        def decorator(fn: _F) -> _F:
            self._callbacks.setdefault(kind, []).append(fn)
            return fn

        return decorator

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
        """``fn(call, exception)``: a callback raised; the call goes on."""
        self._error.append(fn)
        return fn

    def on_close(self, fn: _F) -> _F:
        """``fn(call)``: the call is over (always called, once)."""
        self._close.append(fn)
        return fn

    async def __call__(self, call: Call) -> None:
        try:
            async for event in call:
                await self._dispatch(call, event)
        finally:
            for close in self._close:
                await _maybe_await(close(call))

    async def _dispatch(self, call: Call, event: InboundEvent) -> None:
        kind = _KINDS.get(type(event))
        callbacks = self._callbacks.get(kind, []) if kind else []
        for callback in (*callbacks, *self._callbacks.get("*", [])):
            try:
                await _maybe_await(callback(call, event))
            except Exception as exc:
                if not self._error or is_call_end(exc):
                    raise  # an ended call is not a callback's error: the hooks stop here
                for on_error in self._error:
                    await _maybe_await(on_error(call, exc))


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result
