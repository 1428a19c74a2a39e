"""The inbound queue's waiting: one wake per event, cancellation, and the end of the stream."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_plivo.call._inbound import InboundQueue
from trio_plivo.protocol import Dtmf, Media


def _media(n: int) -> Media:
    return Media(payload=bytes([n]) * 160, chunk=n)


async def test_a_waiting_reader_gets_each_event_in_order() -> None:
    queue = InboundQueue(max_media=10)
    got: list[object] = []

    async def consume() -> None:
        for _ in range(3):
            got.append(await queue.get())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.testing.wait_all_tasks_blocked()
        queue.push(_media(1))
        queue.push(Dtmf(digit="5"))
        await trio.testing.wait_all_tasks_blocked()
        queue.push(_media(2))
    assert got == [_media(1), Dtmf(digit="5"), _media(2)]


async def test_two_waiting_tasks_share_the_events_and_close_ends_both() -> None:
    queue = InboundQueue(max_media=10)
    got: list[object] = []
    ended = 0

    async def consume() -> None:
        nonlocal ended
        try:
            while True:
                got.append(await queue.get())
        except trio.EndOfChannel:
            ended += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        nursery.start_soon(consume)
        await trio.testing.wait_all_tasks_blocked()
        queue.push(_media(1))
        queue.push(_media(2))
        await trio.testing.wait_all_tasks_blocked()
        queue.close()
    assert sorted(event.chunk for event in got) == [1, 2]  # type: ignore[attr-defined]
    assert ended == 2


async def test_a_cancelled_waiter_leaves_its_place_and_loses_nothing() -> None:
    queue = InboundQueue(max_media=10)
    with trio.move_on_after(0) as scope:
        await queue.get()
    assert scope.cancelled_caught
    async with trio.open_nursery() as nursery:
        cancel = trio.CancelScope()
        returned: list[object] = []

        async def wait_then_cancelled() -> None:
            with cancel:
                returned.append(await queue.get())

        nursery.start_soon(wait_then_cancelled)
        await trio.testing.wait_all_tasks_blocked()
        cancel.cancel()
    assert returned == []
    # The event pushed after the cancelled waiter left is still there for the next reader.
    queue.push(_media(7))
    assert await queue.get() == _media(7)


async def test_an_available_event_is_still_a_cancel_point() -> None:
    queue = InboundQueue(max_media=10)
    queue.push(_media(1))
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await queue.get()
    assert len(queue) == 1  # not consumed
