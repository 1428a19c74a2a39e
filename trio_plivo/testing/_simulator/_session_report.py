"""What one simulated stream observed, turned into its :class:`CallReport`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from . import _report as report
from ._metrics import playout_metrics
from ._playout import Playout
from ._script import CallScript
from ._validate import Violation

__all__ = ["Checkpoint", "Counters", "build_report", "without_payload"]


@attrs.define(eq=False)
class Checkpoint:
    name: str
    received_at: float
    acked_at: float | None = None
    outcome: Literal["played", "cleared", "pending"] = "pending"
    queued_ahead: float = 0.0


@attrs.define(eq=False)
class Counters:
    messages_sent: int = 0
    messages_received: int = 0
    media_sent: int = 0
    dtmf_sent: int = 0
    keys_pressed: str = ""
    play_audio_received: int = 0
    checkpoints_received: int = 0
    clears_received: int = 0
    audio_received_samples: int = 0
    packet_acks: int = 0


def build_report(
    fake: CallScript,
    *,
    call_id: str,
    stream_id: str,
    close: report.CloseInfo,
    playout: Playout,
    events: Sequence[report.EventRecord],
    checkpoints: Sequence[Checkpoint],
    clears: Sequence[report.ClearRecord],
    sent_dtmf: Sequence[report.SentDtmf],
    conversation: Sequence[report.ConversationLine],
    violations: Sequence[Violation],
    counters: Counters,
) -> report.CallReport:
    """The report of one stream, from what its session recorded."""
    rate = fake.format.sample_rate
    until = round(close.at * rate)
    metrics = playout_metrics(
        playout,
        until=until,
        rate=rate,
        phrase_gap=fake.phrase_gap,
        barge_in_at=fake.barge_in_at,
    )
    counters = counters
    return report.CallReport(
        provider=fake.provider,
        format=fake.format,
        call_id=call_id,
        stream_id=stream_id,
        duration=close.at,
        heard=playout.heard(until).astype("<i2").tobytes(),
        events=tuple(events),
        time_to_first_audio=metrics.time_to_first_audio,
        gaps=metrics.gaps,
        gap_stats=metrics.gap_stats,
        pauses=metrics.pauses,
        checkpoints=tuple(
            report.CheckpointRecord(
                name=c.name,
                received_at=c.received_at,
                acked_at=c.acked_at,
                outcome=c.outcome,
                queued_ahead=c.queued_ahead,
            )
            for c in checkpoints
        ),
        clears=tuple(clears),
        barge_ins=metrics.barge_ins,
        sent_dtmf=tuple(sent_dtmf),
        conversation=tuple(conversation),
        violations=tuple(violations),
        close=close,
        counts=report.Counts(
            messages_sent=counters.messages_sent,
            messages_received=counters.messages_received,
            media_sent=counters.media_sent,
            dtmf_sent=counters.dtmf_sent,
            keys_pressed=counters.keys_pressed,
            play_audio_received=counters.play_audio_received,
            checkpoints_received=counters.checkpoints_received,
            clears_received=counters.clears_received,
            audio_received_seconds=counters.audio_received_samples / rate,
            packet_acks=counters.packet_acks,
        ),
    )


def without_payload(message: dict[str, object]) -> dict[str, object]:
    """A copy of ``message`` with every ``payload`` replaced by ``payload_bytes`` (and
    KooKoo's ``samples`` arrays by ``samples_count``)."""
    out: dict[str, object] = {}
    for key, value in message.items():
        if key == "payload" and isinstance(value, str):
            out["payload_bytes"] = len(value) * 3 // 4 - value[-2:].count("=")
        elif key == "samples" and isinstance(value, list):
            out["samples_count"] = len(value)
        elif isinstance(value, dict):
            out[key] = without_payload(value)
        else:
            out[key] = value
    return out
