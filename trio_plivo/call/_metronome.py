"""One timer per Trio run for every call's sender: cheap paced wake-ups.

A sender paces its frames by sleeping until the next one is due. As a Trio cancel scope with a
deadline, every such wake-up raises and catches ``Cancelled`` inside the sender and
recalculates cancel status (the profile of ``serve echo`` at load showed about a sixth of the
server's time in deadline expiry and cancel delivery). Here every sender parks on an
:class:`Alarm` instead; one system task, the metronome, sleeps until the earliest alarm is
due and wakes every due sender with a plain ``reschedule``. Senders already due when the
metronome wakes cost it one wake-up between them.

An alarm can also be rung early (an urgent message for the sender: clear, DTMF, hang-up), and
a cancelled sender leaves its entry behind to be skipped when it comes up.
"""

from __future__ import annotations

import heapq
import itertools
import math

import trio
from trio.lowlevel import Abort, RunVar, Task, current_task, reschedule, wait_task_rescheduled

__all__ = ["Alarm"]


class _Entry:
    __slots__ = ("alarm", "live")

    def __init__(self, alarm: Alarm) -> None:
        self.alarm = alarm
        self.live = True


class _Metronome:
    """The heap of armed alarms and the system task that fires them."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Entry]] = []
        self._order = itertools.count()
        self._parked: Task | None = None  # the metronome, when it waits for a first alarm
        self._sleep: trio.CancelScope | None = None  # the metronome, sleeping to a deadline
        trio.lowlevel.spawn_system_task(self._run, name="trio_plivo.call.metronome")

    def arm(self, deadline: float, entry: _Entry) -> None:
        heap = self._heap
        heapq.heappush(heap, (deadline, next(self._order), entry))
        if heap[0][2] is not entry:
            return
        # A new earliest alarm: the metronome must wake sooner than it planned.
        if self._parked is not None:
            task, self._parked = self._parked, None
            reschedule(task)
        elif self._sleep is not None:
            self._sleep.deadline = deadline

    async def _run(self) -> None:
        heap = self._heap
        while True:
            if not heap:
                self._parked = current_task()

                def abort(_: object) -> Abort:
                    self._parked = None
                    return Abort.SUCCEEDED

                await wait_task_rescheduled(abort)
                continue
            with trio.CancelScope(deadline=heap[0][0]) as self._sleep:
                await trio.sleep_forever()
            self._sleep = None
            now = trio.current_time()
            while heap and heap[0][0] <= now:
                entry = heapq.heappop(heap)[2]
                if entry.live:
                    entry.alarm.ring()


_METRONOME: RunVar[_Metronome] = RunVar("trio_plivo_metronome")


class Alarm:
    """One task's wake-up: :meth:`sleep_until` a deadline, or until :meth:`ring`."""

    __slots__ = ("_entry", "_metronome", "_task")

    def __init__(self) -> None:
        self._task: Task | None = None
        self._entry: _Entry | None = None
        self._metronome: _Metronome | None = None

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` (Trio clock) or an earlier :meth:`ring`; a cancel point."""
        if deadline <= trio.current_time():
            await trio.lowlevel.checkpoint()
            return
        metronome = self._metronome
        if metronome is None:
            try:
                metronome = _METRONOME.get()
            except LookupError:
                metronome = _Metronome()
                _METRONOME.set(metronome)
            self._metronome = metronome
        entry = self._entry = _Entry(self)
        if deadline != math.inf:
            metronome.arm(deadline, entry)
        self._task = current_task()

        def abort(_: object) -> Abort:
            entry.live = False
            self._task = self._entry = None
            return Abort.SUCCEEDED

        await wait_task_rescheduled(abort)

    def ring(self) -> None:
        """Wake the sleeping task now (nothing happens when none sleeps)."""
        task = self._task
        if task is not None:
            assert self._entry is not None
            self._entry.live = False
            self._task = self._entry = None
            reschedule(task)
