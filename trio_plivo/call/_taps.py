"""The call's taps: observers attached at the reader's and the sender's seams.

* stereo recording (caller left, played audio right, aligned on the playout clock);
* the JSONL event log (every inbound event and every outbound command, audio frames
  included as ``playAudio`` lines with their size: payloads are omitted);
* in-band DTMF detection, for providers whose key presses are tones in the audio.

None of them is on the hot path unless configured: the reader and the sender test one
attribute per frame and call in only when it is set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Final

import attrs

from .._format import AudioFormat
from ..audio import DtmfDetector, JsonlEventLog, StereoRecorder, decode_wire
from ..protocol import (
    InboundEvent,
    Media,
    Start,
    UnknownEvent,
)
from ..protocol._converter import wire_event_name
from ._config import CallConfig

__all__ = ["Taps"]

_LOG_RENAMES: Final = {"event": "event_name", "ts": "event_ts"}


class Taps:
    """The taps of one call; each attribute is ``None`` until configured at ``start``."""

    def __init__(self, config: CallConfig) -> None:
        self._config = config
        self._call_id = ""
        self._format: AudioFormat | None = None
        self.recorder: StereoRecorder | None = None
        self.event_log: JsonlEventLog | None = None
        self.dtmf_detector: DtmfDetector | None = None
        #: Something watches the frames the sender puts on the wire (the one attribute the
        #: sender tests per frame): the recording, or the event log's ``playAudio`` lines.
        self.watch_sent = False

    def open(self, start: Start, *, detect_dtmf: bool, at: float) -> None:
        """Open what the config asks for, once the stream's format is known."""
        config = self._config
        self._call_id = start.call_id or ""
        self._format = start.media_format
        name = _safe_file_name(start.call_id or start.stream_id)
        if config.record_dir is not None:
            os.makedirs(config.record_dir, exist_ok=True)
            self.recorder = StereoRecorder(
                os.path.join(config.record_dir, f"{name}.wav"),
                start=at,
                sample_rate=start.media_format.sample_rate,
            )
        if config.event_log_dir is not None:
            self.event_log = JsonlEventLog(config.event_log_dir)
        if detect_dtmf:
            self.dtmf_detector = DtmfDetector(start.media_format.sample_rate)
        self.watch_sent = self.recorder is not None or self.event_log is not None

    def sent(self, wire: bytes, at: float) -> None:
        """A frame went out: record it, and log it (its size; the audio is the recording's)."""
        if self.recorder is not None:
            self.record(1, wire, at)
        if self.event_log is not None:
            self.log("playAudio", {"bytes": len(wire)})

    def detect_dtmf(self, event: Media) -> list[str]:
        """The digits whose tones end in this inbound frame."""
        assert self.dtmf_detector is not None and self._format is not None
        if event.track != "inbound":
            return []
        samples = decode_wire(event.payload, self._format)
        digits = [press.digit for press in self.dtmf_detector.feed(samples)]
        for digit in digits:
            self.log("dtmf", {"digit": digit, "detected": True})
        return digits

    def record(self, side: int, wire: bytes, at: float) -> None:
        """Record wire audio: ``side`` 0 is the caller, 1 what we played."""
        assert self.recorder is not None and self._format is not None
        fmt = self._format
        pcm = decode_wire(wire, fmt).astype("<i2").tobytes()
        if side == 0:
            self.recorder.add_inbound(pcm, fmt.sample_rate, at)
        else:
            self.recorder.add_outbound(pcm, fmt.sample_rate, at)

    def log_inbound(self, event: InboundEvent) -> None:
        # Plivo's wire names, whichever provider the call speaks.
        kind = type(event)
        name = wire_event_name(kind) or ("unknown" if kind is UnknownEvent else kind.__name__)
        self.log(name, attrs.asdict(event))

    def log(self, name: str, fields: Mapping[str, object]) -> None:
        if self.event_log is not None:
            # The record's own keys win: call_id is on every line already.
            extra = {_LOG_RENAMES.get(k, k): v for k, v in fields.items() if k != "call_id"}
            self.event_log.log(time.time(), self._call_id, name, extra)

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if self.event_log is not None:
            self.event_log.close()
            self.event_log = None


def _safe_file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "call"
