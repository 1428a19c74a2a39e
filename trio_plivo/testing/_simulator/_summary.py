"""A human-readable rendering of a :class:`CallReport` (what ``trio-plivo simulate`` prints)."""

from __future__ import annotations

from collections import Counter

from ._report import CallReport, CheckpointRecord

__all__ = ["format_report"]

#: Above this many checkpoints the summary gives counts instead of one line each.
_LIST_CHECKPOINTS = 6


#: A silence shorter than this between two frames is jitter no listener hears.
AUDIBLE_GAP_S = 0.001


def _ms(seconds: float | None) -> str:
    """Milliseconds, with a decimal below 10 ms (so 0.4 ms does not read as 0 ms)."""
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:.1f} ms" if 0 < ms < 10 else f"{ms:.0f} ms"


def _gaps(report: CallReport) -> str:
    audible = [gap.duration for gap in report.gaps if gap.duration >= AUDIBLE_GAP_S]
    stats = report.gap_stats
    spread = f"per frame p50 {_ms(stats.p50)}, p99 {_ms(stats.p99)}"
    if not audible:
        return f"  audible gaps: none ({spread})"
    return f"  audible gaps: {len(audible)}, longest {_ms(max(audible))} ({spread})"


def _keys(report: CallReport) -> str:
    keys = report.counts.keys_pressed
    return f" (keys {' '.join(keys)})" if keys else ""


def _checkpoint(checkpoint: CheckpointRecord) -> str:
    line = f"  checkpoint {checkpoint.name!r}: {checkpoint.outcome}"
    if checkpoint.round_trip is None:
        return line
    return (
        f"{line}, acknowledged {_ms(checkpoint.round_trip)} after it arrived "
        f"({_ms(checkpoint.queued_ahead)} of audio was still queued ahead of it)"
    )


def format_report(report: CallReport) -> str:
    """Summarise ``report`` in a few lines of plain text."""
    counts = report.counts
    close = report.close
    lines = [
        f"{report.provider} call {report.call_id} ({report.format}), {report.duration:.2f} s",
        f"  sent {counts.media_sent} media frames, {counts.dtmf_sent} DTMF{_keys(report)}; "
        f"received {counts.play_audio_received} playAudio "
        f"({counts.audio_received_seconds:.2f} s of audio), "
        f"{counts.checkpoints_received} checkpoints, {counts.clears_received} clears",
        f"  time to first audio: {_ms(report.time_to_first_audio)}",
        _gaps(report),
    ]
    if len(report.checkpoints) <= _LIST_CHECKPOINTS:
        lines.extend(_checkpoint(checkpoint) for checkpoint in report.checkpoints)
    else:
        outcomes = Counter(c.outcome for c in report.checkpoints)
        trips = sorted(c.round_trip for c in report.checkpoints if c.round_trip is not None)
        lines.append(
            f"  checkpoints: {len(report.checkpoints)} "
            f"({', '.join(f'{n} {outcome}' for outcome, n in sorted(outcomes.items()))})"
            + (
                f", acknowledged after median {_ms(trips[len(trips) // 2])}, max "
                f"{_ms(trips[-1])} (each waits for the audio queued ahead of it)"
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
