"""The inbound queue between the reader and the application.

Not a plain memory channel: when the application falls behind, the *oldest media* must go
(a stale frame is worth nothing to a recogniser, and the reader must never block or Plivo
degrades the stream), while control events (DTMF, acks, stop) are never dropped and keep their
order relative to the audio around them. A memory channel can only refuse the newest item.
"""

from __future__ import annotations

from collections import deque

import trio
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

from ..protocol import InboundEvent, Media

__all__ = ["InboundQueue"]


class InboundQueue:
    """A bounded-for-media, ordered queue with one producer that never waits.

    ``max_media`` bounds the number of queued :class:`Media` events; pushing one more drops
    the oldest queued media event. Control events are always kept.
    """

    __slots__ = ("_closed", "_items", "_media_count", "_waiters", "dropped", "max_media")

    def __init__(self, max_media: int) -> None:
        if max_media < 1:
            raise ValueError("max_media must be at least 1")
        self.max_media = max_media
        self._items: deque[InboundEvent] = deque()
        self._media_count = 0
        # Tasks waiting in get(), woken one per pushed event. Not a ParkingLot: the reader
        # wakes the app once per frame, and a direct reschedule costs less than unpark().
        self._waiters: deque[Task] = deque()
        self._closed = False
        #: Media events dropped because the application fell behind.
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, event: InboundEvent) -> None:
        """Add ``event``; never blocks. Pushing after :meth:`close` is ignored."""
        if self._closed:
            return
        if type(event) is Media:
            if self._media_count >= self.max_media:
                self._drop_oldest_media()
            self._media_count += 1
        self._items.append(event)
        if self._waiters:
            reschedule(self._waiters.popleft())

    def _drop_oldest_media(self) -> None:
        items = self._items
        for index, item in enumerate(items):
            if type(item) is Media:
                del items[index]
                self._media_count -= 1
                self.dropped += 1
                return

    def close(self) -> None:
        """No more events will come; readers drain what is queued, then get end-of-channel."""
        self._closed = True
        waiters = self._waiters
        while waiters:
            reschedule(waiters.popleft())

    async def get(self, end: type[Exception] = trio.EndOfChannel) -> InboundEvent:
        """The next event, waiting if there is none. Raises ``end`` (``trio.EndOfChannel``
        unless told otherwise) once the queue is closed and empty."""
        items = self._items
        if items:
            # No wait, so no schedule point; still a cancel point.
            await trio.lowlevel.checkpoint_if_cancelled()
        else:
            waiters = self._waiters
            while not items:
                if self._closed:
                    await trio.lowlevel.checkpoint()
                    raise end
                # Waiting inline rather than in a helper coroutine: one frame less to resume
                # on every event of every call.
                task = current_task()
                waiters.append(task)

                def abort(_: object, task: Task = task) -> Abort:
                    waiters.remove(task)
                    return Abort.SUCCEEDED

                await wait_task_rescheduled(abort)
        event = items.popleft()
        if type(event) is Media:
            self._media_count -= 1
        return event
