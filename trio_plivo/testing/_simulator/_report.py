"""``CallReport``: everything one simulated stream observed, as plain values.

All times are seconds on the Trio clock since the simulator sent ``start``. Durations are
seconds too (``0.1`` is 100 ms). Nothing here holds a payload except :attr:`CallReport.heard`.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Mapping
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from ..._format import AudioFormat
from ._validate import Violation, ViolationKind

# The public names are re-exported (and listed) by trio_plivo.testing.

#: ``to_app``: the simulated provider sent it; ``from_app``: the application sent it.
Direction = Literal["to_app", "from_app"]


@attrs.frozen
class EventRecord:
    """One message on the stream, payload left out (``payload_bytes`` gives its size).

    ``event`` is the wire event name (a Vonage or KooKoo command's ``action``/``command``),
    ``"<invalid>"`` for text that is not a JSON object with an event, ``"<binary>"`` for a
    binary frame that is not audio, ``"<dtmf tone>"`` for a key press played as tones in the
    caller's audio (KooKoo). Vonage's binary audio is ``"media"`` with ``bytes``.
    """

    at: float
    direction: Direction
    event: str
    fields: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen
class CheckpointRecord:
    """A ``checkpoint`` (Twilio-shaped ``mark``, Vonage ``notify``) from the app and what
    became of it.

    ``outcome`` is ``"played"`` (acknowledged once the audio before it played),
    ``"cleared"`` (audio before it was cleared: Plivo, Exotel, Telnyx and Vonage never
    acknowledge it, Twilio and SignalWire echo it at once, so ``acked_at`` is the clear's
    time) or ``"pending"`` (the call ended before the audio before it had played).
    """

    name: str
    received_at: float
    acked_at: float | None
    outcome: Literal["played", "cleared", "pending"]
    #: Seconds of the app's audio still queued to play ahead of it when it arrived (what
    #: its acknowledgement waited for).
    queued_ahead: float = 0.0

    @property
    def round_trip(self) -> float | None:
        """Seconds from the checkpoint's arrival to its ``playedStream``: the audio still
        queued ahead of it (:attr:`queued_ahead`) plus the provider's processing."""
        return None if self.acked_at is None else self.acked_at - self.received_at


@attrs.frozen
class ClearRecord:
    """A ``clearAudio`` from the app: ``heard_after`` seconds of audio still played after it
    arrived (the modelled clear latency, at most) and ``discarded`` seconds thrown away."""

    at: float
    heard_after: float
    discarded: float
    dropped_checkpoints: tuple[str, ...]


@attrs.frozen
class BargeIn:
    """The caller started talking over the bot at ``at``; the bot went quiet at ``silent_at``
    (``heard_after`` seconds later; 0 if nothing was playing). ``cleared`` says whether a
    ``clearAudio`` stopped it, rather than the audio simply running out."""

    at: float
    silent_at: float
    heard_after: float
    cleared: bool


@attrs.frozen
class Gap:
    """``duration`` seconds of silence starting at ``at`` between two played frames."""

    at: float
    duration: float


@attrs.frozen
class GapStats:
    """Audible-gap percentiles over every pair of consecutive played frames.

    This is the load-test definition: the audible gap between two 20 ms frames is
    ``max(0, interval - 20 ms)``, so most values are 0 and p50 is usually 0. Silences after
    a ``clearAudio`` and pauses of at least the phrase threshold are not counted.
    """

    transitions: int
    p50: float
    p90: float
    p99: float
    max: float


@attrs.frozen
class SentDtmf:
    """Digits the app asked Plivo to play into the call (``sendDTMF``; Plivo only)."""

    at: float
    digits: str


@attrs.frozen
class ConversationLine:
    """A line of the conversation the app showed on the client's screen (browser only):
    ``kind`` is ``"userMessage"``, ``"assistantMessage"`` or
    ``"cancelLastAssistantMessage"`` (then ``text`` is what was heard of the withdrawn one)."""

    at: float
    kind: str
    text: str


@attrs.frozen
class CloseInfo:
    """How the WebSocket ended: who closed it first, with what code, when. ``by`` is
    ``"app"`` or the simulated provider's name (``"plivo"``, ``"twilio"`` ...)."""

    code: int | None
    by: str
    reason: str
    at: float


@attrs.frozen
class Counts:
    """Message counters, both directions."""

    messages_sent: int = 0
    messages_received: int = 0
    media_sent: int = 0
    dtmf_sent: int = 0
    #: The keys the simulated caller pressed, in order.
    keys_pressed: str = ""
    play_audio_received: int = 0
    checkpoints_received: int = 0
    clears_received: int = 0
    audio_received_seconds: float = 0.0
    #: KooKoo's per-packet playback acknowledgements sent.
    packet_acks: int = 0


@attrs.frozen(kw_only=True)
class CallReport:
    """What a :class:`~trio_plivo.testing.FakeProvider` run observed."""

    format: AudioFormat
    call_id: str
    stream_id: str
    #: Seconds from ``start`` to the close.
    duration: float
    #: What the caller heard: PCM16 little-endian at the stream's rate, silence in the gaps.
    heard: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    events: tuple[EventRecord, ...]
    #: Seconds from ``start`` to the first played audio, ``None`` if nothing played.
    time_to_first_audio: float | None
    gaps: tuple[Gap, ...]
    gap_stats: GapStats
    #: Silences at least as long as the phrase threshold (turn boundaries, not glitches).
    pauses: tuple[Gap, ...]
    checkpoints: tuple[CheckpointRecord, ...]
    clears: tuple[ClearRecord, ...]
    barge_ins: tuple[BargeIn, ...]
    sent_dtmf: tuple[SentDtmf, ...]
    violations: tuple[Violation, ...]
    close: CloseInfo
    counts: Counts
    #: Whose protocol the simulator spoke.
    provider: str = "plivo"
    #: The conversation lines the app sent (a browser conversation; empty on phone calls).
    conversation: tuple[ConversationLine, ...] = ()

    @property
    def heard_seconds(self) -> float:
        """Length of the heard timeline (the whole call, silence included)."""
        return len(self.heard) / 2 / self.format.sample_rate

    def heard_samples(self) -> npt.NDArray[np.int16]:
        """The heard audio as a numpy array of samples."""
        return np.frombuffer(self.heard, dtype="<i2").astype(np.int16)

    @property
    def unacked_checkpoints(self) -> tuple[CheckpointRecord, ...]:
        """Checkpoints that never got a ``playedStream`` (cleared, or still pending)."""
        return tuple(c for c in self.checkpoints if c.acked_at is None)

    def violations_of(self, kind: ViolationKind) -> tuple[Violation, ...]:
        """The violations of one kind."""
        return tuple(v for v in self.violations if v.kind is kind)

    def events_named(
        self, event: str, direction: Direction | None = None
    ) -> tuple[EventRecord, ...]:
        """The recorded events called ``event`` (optionally in one direction only)."""
        return tuple(
            e
            for e in self.events
            if e.event == event and (direction is None or e.direction == direction)
        )

    def write_wav(self, path: str | os.PathLike[str]) -> None:
        """Write the heard audio as a mono 16-bit WAV file."""
        with wave.open(os.fspath(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.format.sample_rate)
            out.writeframes(self.heard)

    def to_dict(self) -> dict[str, object]:
        """A JSON-able summary: everything but the heard audio (``heard_seconds`` instead)."""
        data = attrs.asdict(self, recurse=True, filter=lambda a, _: a.name != "heard")
        data["format"] = self.format.to_content_type()
        data["heard_seconds"] = self.heard_seconds
        for record, checkpoint in zip(data["checkpoints"], self.checkpoints, strict=True):
            record["round_trip"] = checkpoint.round_trip
        for violation in data["violations"]:
            violation["kind"] = str(violation["kind"])
        data["events"] = [{**event, "fields": dict(event["fields"])} for event in data["events"]]
        return data
