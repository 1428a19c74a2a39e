"""Opt-in network and provider faults, deterministic for a given seed.

:class:`Faults` is the user-facing description; :class:`MediaScheduler` turns it into, for
each caller frame, the list of send times (none: dropped, two: duplicated) while preserving
or swapping the order as asked. Pure logic: the session does the sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Generic, TypeVar

import attrs

__all__ = ["Faults", "MediaScheduler"]

_T = TypeVar("_T")


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], got {value}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


def _times(value: Sequence[float]) -> tuple[float, ...]:
    return tuple(sorted(float(t) for t in value))


def _windows(value: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    windows = tuple(sorted((float(start), float(length)) for start, length in value))
    if any(length < 0 for _, length in windows):
        raise ValueError("slow_reader windows need a non-negative length")
    return windows


@attrs.frozen(kw_only=True)
class Faults:
    """Faults to inject into one simulated stream. Times are seconds after ``start``.

    Media faults apply to the caller's ``media`` frames only (never to ``start``, ``dtmf`` or
    replies). Dropped frames still use up their ``chunk`` number, so an application can see
    the hole; ``sequenceNumber`` is assigned when a message is written, so it stays
    contiguous (as on a socket that reorders nothing itself).
    """

    #: Delay each media frame by a uniform random 0..``jitter`` seconds (order kept).
    jitter: float = attrs.field(default=0.0, validator=_non_negative)
    #: Probability that a media frame is lost.
    drop_rate: float = attrs.field(default=0.0, validator=_rate)
    #: Probability that a media frame is sent twice in a row.
    duplicate_rate: float = attrs.field(default=0.0, validator=_rate)
    #: Probability that a media frame is swapped with the one after it.
    reorder_rate: float = attrs.field(default=0.0, validator=_rate)
    #: Send a text frame that is not JSON at each of these times.
    malformed_at: tuple[float, ...] = attrs.field(default=(), converter=_times)
    #: Send a binary frame (Plivo never does) at each of these times.
    binary_at: tuple[float, ...] = attrs.field(default=(), converter=_times)
    #: Drop the connection at this time: no ``stop``, close code 1006.
    disconnect_at: float | None = None
    #: ``(start, length)`` windows in which the simulator stops reading the app's messages.
    slow_reader: tuple[tuple[float, float], ...] = attrs.field(default=(), converter=_windows)
    #: Seed of the random generator behind every probabilistic fault.
    seed: int = 0

    @property
    def touches_media(self) -> bool:
        return bool(self.jitter or self.drop_rate or self.duplicate_rate or self.reorder_rate)


@attrs.define
class MediaScheduler(Generic[_T]):
    """Decides when (and whether) each caller frame goes out.

    Call :meth:`schedule` with frames in capture order; it returns the frames that are now
    ready for sending as ``(send_time, frame)`` pairs, in send order. A frame chosen for
    reordering is held back until the next one is scheduled, then both are released swapped.
    """

    faults: Faults
    _rng: random.Random = attrs.field(init=False)
    _last_send: float = attrs.field(init=False, default=float("-inf"))
    _held: tuple[float, _T, int] | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.faults.seed)

    def schedule(self, item: _T, ideal: float) -> list[tuple[float, _T]]:
        """Schedule ``item`` (a frame) captured at ``ideal`` seconds since start."""
        faults = self.faults
        # Draw every random number unconditionally so that changing one rate does not shift
        # the sequence the others see.
        jitter = self._rng.uniform(0.0, faults.jitter) if faults.jitter else 0.0
        dropped = self._rng.random() < faults.drop_rate
        duplicated = self._rng.random() < faults.duplicate_rate
        reordered = self._rng.random() < faults.reorder_rate
        if dropped:
            return []
        send = max(ideal + jitter, self._last_send)
        self._last_send = send
        copies = 2 if duplicated else 1
        if self._held is not None:
            held_time, held_item, held_copies = self._held
            self._held = None
            # Swap: this frame takes the held frame's slot in time and goes out first.
            return [(held_time, item)] * copies + [(send, held_item)] * held_copies
        if reordered:
            self._held = (send, item, copies)
            return []
        return [(send, item)] * copies

    def flush(self) -> list[tuple[float, _T]]:
        """Release a frame still held for reordering (the stream ended before its partner)."""
        held, self._held = self._held, None
        if held is None:
            return []
        held_time, held_item, held_copies = held
        return [(held_time, held_item)] * held_copies
