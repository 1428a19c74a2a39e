"""Debug mode: per-turn timings, micdrop-style, logged and kept in the summary.

All times are Trio clock seconds. A turn's clock starts at ``speech_end``: the end of the last
20 ms frame the VAD called speech (for a key press, the moment the digit arrived).
"""

from __future__ import annotations

import logging

import attrs

__all__ = ["TurnTiming", "log_turn"]

logger = logging.getLogger("trio_plivo.agent")


@attrs.define(kw_only=True)
class TurnTiming:
    """When each stage of one turn happened (``None``: the stage did not happen)."""

    index: int
    #: End of the caller's speech (or the key press).
    speech_end: float
    #: When the turn detector decided the caller had finished (``speech_end`` plus the
    #: end-of-turn silence, for speech).
    turn_end: float
    stt_final: float | None = None
    llm_first_token: float | None = None
    tts_first_byte: float | None = None
    #: First audio of the answer handed to the call (it goes on the wire within the
    #: sender's next pass: the call keeps at most ``lead_ms`` ahead of playout).
    first_audio: float | None = None
    interrupted: bool = False
    error: str | None = None

    def since_speech_end(self, at: float | None) -> float | None:
        """Milliseconds from the end of the caller's speech to ``at``."""
        return None if at is None else (at - self.speech_end) * 1000.0

    @property
    def response_ms(self) -> float | None:
        """End of the caller's speech to the first audio of the answer, in ms."""
        return self.since_speech_end(self.first_audio)

    def as_dict(self) -> dict[str, float | int | bool | str | None]:
        """Milliseconds since the end of the caller's speech, per stage."""
        return {
            "turn": self.index,
            "turn_end_ms": self.since_speech_end(self.turn_end),
            "stt_final_ms": self.since_speech_end(self.stt_final),
            "llm_first_token_ms": self.since_speech_end(self.llm_first_token),
            "tts_first_byte_ms": self.since_speech_end(self.tts_first_byte),
            "first_audio_ms": self.response_ms,
            "interrupted": self.interrupted,
            "error": self.error,
        }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def log_turn(call_id: str | None, timing: TurnTiming) -> None:
    """Log one turn's timings at INFO (debug mode)."""
    logger.info(
        "call %s turn %d: turn end %s ms, stt %s ms, llm first token %s ms, tts first byte "
        "%s ms, first audio %s ms%s%s",
        call_id,
        timing.index,
        _fmt(timing.since_speech_end(timing.turn_end)),
        _fmt(timing.since_speech_end(timing.stt_final)),
        _fmt(timing.since_speech_end(timing.llm_first_token)),
        _fmt(timing.since_speech_end(timing.tts_first_byte)),
        _fmt(timing.response_ms),
        " (interrupted)" if timing.interrupted else "",
        f" (error: {timing.error})" if timing.error else "",
    )
