"""Fan-out of stream status callbacks to subscribers, each with its own bounded buffer.

A status callback must be answered at once whatever the subscribers are doing (Plivo does
not wait on a slow app), so publishing never blocks: a subscriber whose buffer is full loses
its *oldest* event to make room for the new one, and the loss is counted on the
subscription. The newest state of a stream (``StopStream`` after ``StartStream``) is what a
late reader needs, which is why the old end gives way.
"""

from __future__ import annotations

import attrs
import trio

from .._exceptions import ConfigurationError
from ._status_callback import StreamStatusEvent

__all__ = ["StatusHub", "StatusSubscription"]


@attrs.define(eq=False)
class StatusSubscription:
    """One subscriber's view: iterate it (``async for event in sub``) or :meth:`receive`.

    Use it as a context manager (``with front.status_events() as sub:``); leaving the block
    unsubscribes. Iteration ends when the subscription is closed or the server stops.
    """

    _send: trio.MemorySendChannel[StreamStatusEvent]
    _receive: trio.MemoryReceiveChannel[StreamStatusEvent]
    # The publisher's own handle on the buffer, used only to drop the oldest event.
    _evict: trio.MemoryReceiveChannel[StreamStatusEvent]
    _hub: StatusHub
    _dropped: int = 0

    @property
    def dropped(self) -> int:
        """Events this subscriber lost because its buffer was full (oldest first)."""
        return self._dropped

    async def receive(self) -> StreamStatusEvent:
        """The next event; ``trio.EndOfChannel`` once closed or the server has stopped."""
        return await self._receive.receive()

    def __aiter__(self) -> StatusSubscription:
        return self

    async def __anext__(self) -> StreamStatusEvent:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    def __enter__(self) -> StatusSubscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Unsubscribe (idempotent)."""
        self._hub.remove(self)
        self._send.close()
        self._evict.close()
        self._receive.close()

    def _offer(self, event: StreamStatusEvent) -> None:
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            self._dropped += 1
            self._hub.dropped += 1
            self._evict.receive_nowait()
            self._send.send_nowait(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._hub.remove(self)  # the reader went away without unsubscribing


@attrs.define(eq=False)
class StatusHub:
    """The set of live subscriptions."""

    _subscriptions: list[StatusSubscription] = attrs.Factory(list)
    _closed: bool = False
    #: Events lost across all subscribers.
    dropped: int = 0

    def subscribe(self, buffer: int) -> StatusSubscription:
        """A new subscription with room for ``buffer`` unread events."""
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
            # 0 would drop everything not awaited right now; unbounded is never a choice.
            raise ConfigurationError(f"buffer must be a positive int, got {buffer!r}")
        send, receive = trio.open_memory_channel[StreamStatusEvent](buffer)
        subscription = StatusSubscription(send, receive, receive.clone(), self)
        if self._closed:
            send.close()
        else:
            self._subscriptions.append(subscription)
        return subscription

    def remove(self, subscription: StatusSubscription) -> None:
        """Forget ``subscription`` (no error if it is already gone)."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def publish(self, event: StreamStatusEvent) -> None:
        """Give ``event`` to every subscriber, never blocking."""
        for subscription in list(self._subscriptions):
            subscription._offer(event)

    def close(self) -> None:
        """End every subscription's iteration (the server stopped); later ones start ended."""
        self._closed = True
        for subscription in self._subscriptions:
            subscription._send.close()
        self._subscriptions.clear()
