"""The live calls of one server, by call id and by stream id: what operators reach calls by.

Registration is part of a call's lifetime (``serve_call`` adds a call once its ``start`` is
in and removes it the moment the call ends, whatever ended it), so the registry never lists
a call that is over. Observers (metrics, a fleet directory in Redis) hear of both moments.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator

import attrs
import trio

from ._call import Call
from ._marks import Mark

__all__ = ["CallRegistry", "LiveCall", "RegistryObserver", "registry_of"]

logger = logging.getLogger("trio_plivo.call")

#: Marks placed through a registry entry (the control API's) that are remembered per call.
_MAX_MARKS = 256


@attrs.define(eq=False)
class LiveCall:
    """One registered call: the :class:`Call`, when it was registered (wall clock), and the
    marks placed through the control API by name."""

    call: Call
    #: Unix time the call was registered (its ``start`` had arrived).
    started_at: float
    marks: dict[str, Mark] = attrs.Factory(dict)

    def remember(self, mark: Mark) -> None:
        """Keep ``mark`` to answer for it by name (the oldest are forgotten past 256)."""
        if len(self.marks) >= _MAX_MARKS:
            del self.marks[next(iter(self.marks))]
        self.marks[mark.name] = mark


#: The registry each live call is listed in (weakly: a finished call is not kept alive).
_LISTED_IN: weakref.WeakKeyDictionary[Call, CallRegistry] = weakref.WeakKeyDictionary()


def registry_of(call: Call) -> CallRegistry | None:
    """The registry ``call`` is listed in (its server's ``calls``), for a handler or a hook
    that needs the other live calls; ``None`` outside a server or once the call ended."""
    return _LISTED_IN.get(call)


#: ``(event, live)``: ``"started"`` or ``"ended"``; called synchronously, must not block.
RegistryObserver = Callable[[str, LiveCall], None]


class CallRegistry:
    """Live calls by call id and by stream id (``StreamServer.calls``)."""

    def __init__(self) -> None:
        self._by_call: dict[str, LiveCall] = {}
        self._by_stream: dict[str, LiveCall] = {}
        self._observers: list[RegistryObserver] = []

    def __repr__(self) -> str:
        return f"<CallRegistry {len(self)} live calls>"

    def __len__(self) -> int:
        return len(self._by_call)

    def __iter__(self) -> Iterator[LiveCall]:
        return iter(list(self._by_call.values()))

    def get(self, call_or_stream_id: str) -> LiveCall | None:
        """The live call with that call id or stream id, else ``None``."""
        return self._by_call.get(call_or_stream_id) or self._by_stream.get(call_or_stream_id)

    def counts_by_provider(self) -> Counter[str]:
        """How many live calls each provider has."""
        return Counter(live.call.provider for live in self._by_call.values())

    def observe(self, observer: RegistryObserver) -> None:
        """Call ``observer("started" | "ended", live)`` as calls come and go."""
        self._observers.append(observer)

    async def close_all(self, code: int = 1001, reason: str = "closed by the operator") -> int:
        """Close every live call with ``code`` and ``reason``; returns how many."""
        calls = list(self)
        async with trio.open_nursery() as nursery:
            for live in calls:
                nursery.start_soon(live.call.aclose, code, reason)
        return len(calls)

    # --- the call lifetime's side (serve_call) -----------------------------------------------

    def add(self, call: Call) -> LiveCall:
        """Register ``call`` (its start is in: it has its ids)."""
        live = LiveCall(call, time.time())
        key = call.call_id or call.stream_id or f"call-{id(call)}"
        self._by_call[key] = live
        if call.stream_id:
            self._by_stream[call.stream_id] = live
        _LISTED_IN[call] = self
        self._tell("started", live)
        return live

    def remove(self, live: LiveCall) -> None:
        """Forget ``live`` (idempotent): the call is over."""
        call = live.call
        key = call.call_id or call.stream_id or f"call-{id(call)}"
        if self._by_call.get(key) is not live:
            return
        del self._by_call[key]
        if call.stream_id and self._by_stream.get(call.stream_id) is live:
            del self._by_stream[call.stream_id]
        _LISTED_IN.pop(call, None)
        self._tell("ended", live)

    def _tell(self, event: str, live: LiveCall) -> None:
        for observer in self._observers:
            try:
                observer(event, live)
            except Exception:
                logger.exception("call registry observer %r failed", observer)
