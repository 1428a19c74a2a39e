"""A human-readable rendering of a :class:`CallReport` (what ``trio-plivo simulate`` prints)."""

from __future__ import annotations

from collections import Counter

from ._report import CallReport

__all__ = ["format_report"]

#: Above this many checkpoints the summary gives counts instead of one line each.
_LIST_CHECKPOINTS = 6


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def format_report(report: CallReport) -> str:
    """Summarise ``report`` in a few lines of plain text."""
    counts = report.counts
    close = report.close
    lines = [
        f"{report.provider} call {report.call_id} ({report.format}), {report.duration:.2f} s",
        f"  sent {counts.media_sent} media frames, {counts.dtmf_sent} DTMF; "
        f"received {counts.play_audio_received} playAudio "
        f"({counts.audio_received_seconds:.2f} s of audio), "
        f"{counts.checkpoints_received} checkpoints, {counts.clears_received} clears",
        f"  time to first audio: {_ms(report.time_to_first_audio)}",
        f"  audible gaps: {len(report.gaps)} "
        f"(p50 {_ms(report.gap_stats.p50)}, p99 {_ms(report.gap_stats.p99)}, "
        f"max {_ms(report.gap_stats.max)})",
    ]
    if len(report.checkpoints) <= _LIST_CHECKPOINTS:
        for checkpoint in report.checkpoints:
            lines.append(
                f"  checkpoint {checkpoint.name!r}: {checkpoint.outcome}"
                + (
                    f" after {_ms(checkpoint.round_trip)}"
                    if checkpoint.round_trip is not None
                    else ""
                )
            )
    else:
        outcomes = Counter(c.outcome for c in report.checkpoints)
        trips = sorted(c.round_trip for c in report.checkpoints if c.round_trip is not None)
        lines.append(
            f"  checkpoints: {len(report.checkpoints)} "
            f"({', '.join(f'{n} {outcome}' for outcome, n in sorted(outcomes.items()))})"
            + (
                f", round trip median {_ms(trips[len(trips) // 2])}, max {_ms(trips[-1])}"
                if trips
                else ""
            )
        )
    for clear in report.clears:
        lines.append(
            f"  clear at {clear.at:.2f} s: {_ms(clear.heard_after)} still heard, "
            f"{_ms(clear.discarded)} discarded"
        )
    for barge_in in report.barge_ins:
        lines.append(f"  barge-in at {barge_in.at:.2f} s: silent after {_ms(barge_in.heard_after)}")
    if counts.packet_acks:
        lines.append(f"  packets acknowledged as played: {counts.packet_acks}")
    lines.append(f"  protocol violations: {len(report.violations)}")
    lines.extend(f"    {v.kind}: {v.detail}" for v in report.violations[:10])
    lines.append(f"  closed by {close.by} with code {close.code} ({close.reason})")
    return "\n".join(lines)
