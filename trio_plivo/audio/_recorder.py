"""Stereo call recording: caller on the left, the app's played audio on the right.

The recorder is pure bookkeeping on a timeline the caller provides: every chunk comes with the
time (seconds, any clock) at which its first sample was heard or played, and lands at that
offset from ``start`` in the file. It never reads a clock.

Placement. Each side keeps a resampler to the recording rate. Chunks that follow on from the
previous one (within ``tolerance``) continue its stream, so the resampler's filter state and its
hold-back are preserved and samples land back to back; a chunk that jumps (packet loss, a new
utterance after silence) flushes the old stream and starts a new one at its own time. Where a
side has nothing, the file holds silence; where a side's chunks overlap, the later one wins.

Writing. Audio is committed to disk once the caller's side has moved ``holdback`` seconds past
it (covering the resampler's hold-back), so the app's side may be scheduled ahead of the caller
by up to ``max_lead`` seconds without being cut. The :class:`WavWriter` underneath patches the
header every second of audio, so a crash loses at most about ``holdback`` + 1 s.
"""

from __future__ import annotations

import os
from typing import Final

import numpy as np

from .._exceptions import ConfigurationError
from ._closing import ClosedOnExit
from ._pcm import pcm16_from_bytes
from ._resample import Quality, Resampler
from ._types import BytesLike, Int16Array
from ._wav import WavWriter

__all__ = ["StereoRecorder"]

_INBOUND: Final = 0
_OUTBOUND: Final = 1
_COMMIT_BATCH_SECONDS: Final = 0.1  # write in slices of at least this much, not per frame


class _Track:
    """One side of the recording: where its next sample goes, and its resampler."""

    def __init__(self, recording_rate: int, quality: Quality) -> None:
        self.recording_rate = recording_rate
        self.quality: Quality = quality
        self.resampler: Resampler | None = None
        self.next_position = 0  # sample index in the recording for the next resampled output
        self.expected_at: float | None = None  # when a chunk continuing this stream would start
        self.end = 0  # one past the last sample this track has placed

    def start_stream(self, rate: int, position: int) -> None:
        if self.resampler is None or self.resampler.in_rate != rate:
            self.resampler = Resampler(rate, self.recording_rate, quality=self.quality)
        self.next_position = position

    def flush(self) -> Int16Array | None:
        if self.resampler is None:
            return None
        return self.resampler.flush()


class StereoRecorder(ClosedOnExit):
    """Record a call to a stereo PCM16 WAV file: left = caller (inbound), right = app (outbound).

    ``start`` is the time, on the clock used for every ``at`` argument, of the file's first
    sample. Inputs may be mono PCM16 (little-endian bytes) at any rate; they are resampled to
    ``sample_rate``. Call :meth:`close` at the end of the call (or use ``with``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        start: float,
        sample_rate: int = 8000,
        holdback: float = 0.25,
        max_lead: float = 2.0,
        tolerance: float = 0.010,
        quality: Quality = "HQ",
        sync_interval: float = 1.0,
        fsync: bool = False,
    ) -> None:
        if holdback < 0 or max_lead < 0 or tolerance < 0:
            raise ConfigurationError("holdback, max_lead and tolerance must be >= 0 seconds")
        self._writer = WavWriter(
            path, sample_rate=sample_rate, channels=2, sync_interval=sync_interval, fsync=fsync
        )
        self.start: Final = start
        self.sample_rate: Final = sample_rate
        self._holdback = round(holdback * sample_rate)
        self._max_lead = round(max_lead * sample_rate)
        self._tolerance = tolerance
        self._tracks = (_Track(sample_rate, quality), _Track(sample_rate, quality))
        self._written = 0  # samples already handed to the writer
        self._pending = np.zeros((0, 2), dtype=np.int16)  # samples from _written onwards
        self._late_samples = 0

    @property
    def written_seconds(self) -> float:
        """Seconds of audio committed to the file so far."""
        return self._written / self.sample_rate

    @property
    def late_samples(self) -> int:
        """Samples dropped because they arrived for a part of the file already written."""
        return self._late_samples

    def add_inbound(self, pcm16: BytesLike, rate: int, at: float) -> None:
        """Add caller audio whose first sample was heard at time ``at``."""
        self._add(_INBOUND, pcm16, rate, at)

    def add_outbound(self, pcm16: BytesLike, rate: int, at: float) -> None:
        """Add the app's audio whose first sample plays to the caller at time ``at``."""
        self._add(_OUTBOUND, pcm16, rate, at)

    def _add(self, side: int, pcm16: BytesLike, rate: int, at: float) -> None:
        if self._writer.closed:
            raise ConfigurationError("StereoRecorder is closed")
        samples = pcm16_from_bytes(pcm16)
        track = self._tracks[side]
        continues = (
            track.resampler is not None
            and track.resampler.in_rate == rate
            and track.expected_at is not None
            and abs(at - track.expected_at) <= self._tolerance
        )
        if not continues:
            self._end_stream(side)
            track.start_stream(rate, round((at - self.start) * self.sample_rate))
        assert track.resampler is not None
        self._place(side, track.resampler.process(samples))
        track.expected_at = at + samples.size / rate
        self._commit(final=False)

    def _end_stream(self, side: int) -> None:
        tail = self._tracks[side].flush()
        if tail is not None and tail.size:
            self._place(side, tail)

    def _end_finished_streams(self, upto: int) -> None:
        """Flush the resampler of any side whose stream can no longer continue in time.

        A stream's continuation would start where the stream ends; once the file is about to
        be written past that point, the stream is over (the utterance finished) and the
        samples its resampler holds back must be placed now, not when the next one starts.
        """
        for side, track in enumerate(self._tracks):
            if track.expected_at is None:
                continue
            if round((track.expected_at - self.start) * self.sample_rate) <= upto:
                self._end_stream(side)
                track.expected_at = None

    def _place(self, side: int, samples: Int16Array) -> None:
        track = self._tracks[side]
        position = track.next_position
        track.next_position += samples.size
        if samples.size == 0:
            return
        if position < self._written:
            late = min(self._written - position, samples.size)
            self._late_samples += late
            samples, position = samples[late:], position + late
            if samples.size == 0:
                return
        offset = position - self._written
        needed = offset + samples.size
        if needed > len(self._pending):
            grown = np.zeros((needed, 2), dtype=np.int16)
            grown[: len(self._pending)] = self._pending
            self._pending = grown
        self._pending[offset:needed, side] = samples
        track.end = max(track.end, position + samples.size)

    def _commit(self, *, final: bool) -> None:
        if final:
            upto = self._written + len(self._pending)
        else:
            inbound, outbound = self._tracks[_INBOUND].end, self._tracks[_OUTBOUND].end
            # The caller's audio arrives in real time, so it is the clock; the app's audio may
            # be scheduled ahead of it and only drives the commit when it is far ahead.
            upto = max(inbound, outbound - self._max_lead) - self._holdback
            if upto - self._written < _COMMIT_BATCH_SECONDS * self.sample_rate:
                return
            self._end_finished_streams(upto)
            # Never write over the place where a live stream's held-back samples will land.
            for track in self._tracks:
                if track.expected_at is not None:
                    upto = min(upto, track.next_position)
            if upto <= self._written:
                return
        count = min(upto - self._written, len(self._pending))
        if count > 0:
            self._writer.write(self._pending[:count].astype("<i2").tobytes())
            self._pending = self._pending[count:]
        if upto > self._written:
            # Nothing was ever placed in this stretch on either side: it is silence.
            silence = upto - self._written - count
            if silence > 0:
                self._writer.write(bytes(4 * silence))
            self._written = upto

    def close(self) -> None:
        """Flush both sides' resamplers, write everything, and close the file. Idempotent."""
        if self._writer.closed:
            return
        try:
            for side in (_INBOUND, _OUTBOUND):
                self._end_stream(side)
            self._commit(final=True)
        finally:
            self._writer.close()
