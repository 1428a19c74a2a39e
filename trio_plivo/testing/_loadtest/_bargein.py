"""Barge-in under load: a scripted key press while the app's audio plays, and how much of the
old audio the caller still heard.

Each call of a provider with key press events (all but KooKoo) presses :data:`MARK_KEY` and
then :data:`BARGE_IN_KEY` in the same tick, before its media frame number
:func:`barge_in_frame` (``barge_in_at`` seconds into its audio). The echo app places a mark
for the first (``dtmf-4``) and clears its playback for the second; the voice agent clears on
any key while it speaks. The frames the call sent before the press are its *old* audio:
their echoes carry the frame counter in the payload header (:mod:`._wire`).

The provider side is the load generator's (:mod:`._generator`): the app's audio plays in real
time from a buffer, a clear empties the buffer, and checkpoints pending at a clear are never
acknowledged, or echoed at once by Twilio and SignalWire (the simulator's wires say which:
``acks_cleared_marks``). Measured per call that pressed the keys:

* the clear: key press sent -> the app's first clear after it (``clearAudio``, ``clear``,
  ``clearBuffer`` ...) received; a call whose clear never came is counted as missing;
* the stale audio: old audio the caller heard although the barge-in should have cut it.
  With a clear, the echoes of old frames that arrived after the clear (the clear emptied the
  buffer, so these are exactly the old audio played after it); without a clear, the audio
  still buffered at the press plus the echoes of old frames that arrived after the press.
  Audio played between the press and the clear is the clear's reaction time, not stale.
  Only measured when the app echoes the call's frames (an app's own audio has no counter);
* the marks in flight: checkpoints pending at the press or received after it and before the
  clear (without a clear: before the call's next key press). Each ends ``played``
  (acknowledged: its audio played before the clear), ``cleared`` (pending when the clear
  arrived) or ``hanging`` (neither by the end of the call); the first two are resolved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from ...transport import Message
from ._report import WorkerReport
from ._wire import CallWire

__all__ = [
    "BARGE_IN_KEY",
    "MARK_KEY",
    "MIN_AFTER_S",
    "BargeIn",
    "barge_in_frame",
    "key_press_frame",
]

#: The key that barges in (the echo app clears its playback on it).
BARGE_IN_KEY: Final = "*"
#: Pressed just before :data:`BARGE_IN_KEY`, so a mark is in flight when the clear comes.
MARK_KEY: Final = "4"
#: A barge-in needs this much of the call after the press, to see the clear and what follows.
MIN_AFTER_S: Final = 0.5
#: The mid-call key press moves after the barge-in when it would come this shortly before it
#: (its checkpoint, still in flight, would be cleared and its round trip lost).
_KEY_PRESS_CLEARANCE_S: Final = 1.0

Outcome = Literal["pending", "played", "cleared"]


def barge_in_frame(at: float | None, frames: int, frame_ms: int) -> int:
    """Index of the media frame the barge-in keys go out before: ``at`` seconds into the
    call's audio; -1 when off (``at`` is ``None``) or when fewer than :data:`MIN_AFTER_S`
    seconds of the call would follow."""
    if at is None:
        return -1
    frame = round(at * 1000 / frame_ms)
    return frame if frame > 0 and frame + MIN_AFTER_S * 1000 / frame_ms <= frames else -1


def key_press_frame(frames: int, barge: int, frame_ms: int) -> int:
    """Index of the frame the mid-call key press goes out before: halfway through the call,
    unless that is in the second before the barge-in (frame ``barge``); then halfway through
    what is left after it."""
    mid = frames // 2
    if barge >= 0 and barge - _KEY_PRESS_CLEARANCE_S * 1000 / frame_ms <= mid <= barge:
        return (barge + frames) // 2
    return mid


@dataclass(eq=False)
class BargeIn:
    """One call's barge-in: when its keys went out, when the clear came, what it heard."""

    #: The first media frame sent after the press: frames before it are the old audio.
    frame: int
    pressed_at: float | None = None
    cleared_at: float | None = None
    #: Audio still in the provider's buffer at the press (played after it unless cleared).
    buffered_s: float = 0.0
    #: Echoes of old frames that arrived after the press and before any clear.
    after_press_s: float = 0.0
    #: Echoes of old frames that arrived after the clear.
    after_clear_s: float = 0.0
    #: The marks in flight: checkpoint name -> what became of it.
    marks: dict[str, Outcome] = field(default_factory=dict)
    #: Whether a checkpoint received now is in flight at the barge-in.
    window_open: bool = True

    @staticmethod
    def keys(wire: CallWire, ms: int) -> list[Message]:
        """The key press events: :data:`MARK_KEY`, then :data:`BARGE_IN_KEY`."""
        keys = (wire.dtmf(MARK_KEY, ms), wire.dtmf(BARGE_IN_KEY, ms))
        return [key for key in keys if key is not None]

    def press(self, now: float, playout_end: float, pending: Iterable[str]) -> None:
        """The keys went out at ``now``; the provider's buffer played until ``playout_end``
        and ``pending`` were the checkpoints not yet acknowledged."""
        self.pressed_at = now
        self.buffered_s = max(0.0, playout_end - now)
        for name in pending:
            self.marks[name] = "pending"

    def checkpoint(self, name: str) -> None:
        """The app sent checkpoint ``name``."""
        if self.pressed_at is not None and self.window_open:
            self.marks[name] = "pending"

    def acknowledged(self, name: str) -> None:
        """Checkpoint ``name`` was acknowledged as played."""
        if self.marks.get(name) == "pending":
            self.marks[name] = "played"

    def cleared(self, now: float) -> None:
        """The app's clear arrived at ``now`` (only the first after the press counts)."""
        if self.pressed_at is None or self.cleared_at is not None:
            return
        self.cleared_at = now
        self.window_open = False
        for name, outcome in self.marks.items():
            if outcome == "pending":
                self.marks[name] = "cleared"

    def old_audio(self, seconds: float) -> None:
        """An echo of an old frame (one sent before the press) arrived, after the press."""
        if self.cleared_at is None:
            self.after_press_s += seconds
        else:
            self.after_clear_s += seconds

    @property
    def stale_s(self) -> float:
        """Old audio heard that the barge-in should have cut (the module docstring)."""
        if self.cleared_at is None:
            return self.buffered_s + self.after_press_s
        return self.after_clear_s

    def record(self, report: WorkerReport, *, echoes: bool) -> None:
        """Add this call's figures to ``report`` (nothing if the keys never went out);
        ``echoes``: the app echoed the call's frames, so the stale audio is known."""
        if self.pressed_at is None:
            return
        report.barge_ins += 1
        if self.cleared_at is None:
            report.clears_missing += 1
        else:
            report.clear_reactions.append(self.cleared_at - self.pressed_at)
        if echoes:
            report.stale.append(self.stale_s)
        for outcome in self.marks.values():
            report.barge_in_marks["hanging" if outcome == "pending" else outcome] += 1
