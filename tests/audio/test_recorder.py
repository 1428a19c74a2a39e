"""StereoRecorder alignment and flushing; JsonlEventLog files and payload policy."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from trio_plivo import ConfigurationError
from trio_plivo.audio import JsonlEventLog, StereoRecorder, read_wav

from .conftest import tone, tone_amplitude


def chunks(samples: np.ndarray, rate: int, start: float, ms: int = 20) -> list[tuple[bytes, float]]:
    size = rate * ms // 1000
    return [
        (samples[i : i + size].astype("<i2").tobytes(), start + i / rate)
        for i in range(0, samples.size, size)
    ]


def channels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    audio = read_wav(path)
    assert audio.channels == 2
    return audio.samples[:, 0], audio.samples[:, 1]


def test_exact_alignment_at_the_recording_rate(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    caller = (np.arange(8000) % 1000 + 1).astype(np.int16)  # 1 s, never zero
    with StereoRecorder(path, start=100.0) as recorder:
        for pcm, at in chunks(caller, 8000, 100.0):
            recorder.add_inbound(pcm, 8000, at)
            if at == pytest.approx(100.5):
                for out, out_at in chunks(np.full(2400, 700, np.int16), 8000, 100.5):
                    recorder.add_outbound(out, 8000, out_at)
        recorder.add_outbound(np.full(800, 900, np.int16).tobytes(), 8000, 101.2)
    left, right = channels(path)
    assert left.size == right.size == 10400  # up to the last played sample at 101.3 s
    np.testing.assert_array_equal(left[:8000], caller)
    assert not left[8000:].any()
    assert not right[:4000].any()
    assert np.all(right[4000:6400] == 700)
    assert not right[6400:9600].any()
    assert np.all(right[9600:10400] == 900)


def test_gap_in_the_stream_is_silence(tmp_path: Path) -> None:
    path = tmp_path / "gap.wav"
    frame = np.full(160, 1234, np.int16).tobytes()
    with StereoRecorder(path, start=0.0) as recorder:
        for at in (0.0, 0.02, 0.06, 0.08):  # the frame at 0.04 was lost
            recorder.add_inbound(frame, 8000, at)
    left, _ = channels(path)
    assert np.all(left[:320] == 1234)
    assert not left[320:480].any()
    assert np.all(left[480:800] == 1234)


def test_resampled_outbound_lands_at_its_time(tmp_path: Path) -> None:
    path = tmp_path / "tts.wav"
    click = np.zeros(3200, np.int16)  # 0.2 s at 16 kHz, an impulse 0.1 s in
    click[1600] = 20000
    events = [("in", pcm, 8000, at) for pcm, at in chunks(np.ones(16000, np.int16), 8000, 0.0)]
    events += [("out", pcm, 16000, at) for pcm, at in chunks(click, 16000, 0.5)]
    events += [("out", pcm, 24000, at) for pcm, at in chunks(tone(1000, 24000, 0.5), 24000, 1.0)]
    with StereoRecorder(path, start=0.0) as recorder:
        for side, pcm, rate, at in sorted(events, key=lambda event: event[3]):
            add = recorder.add_inbound if side == "in" else recorder.add_outbound
            add(pcm, rate, at)
        assert recorder.late_samples == 0
    _, right = channels(path)
    assert abs(int(np.argmax(np.abs(right[:7000]))) - 4800) <= 1  # (0.5 + 0.1) s at 8 kHz
    played = right[8000 + 400 : 12000 - 400]
    assert tone_amplitude(played, 1000, 8000) == pytest.approx(0.5 * 32767, rel=0.02)
    assert not right[7000:7990].any()


def test_audio_is_on_disk_within_about_a_second(tmp_path: Path) -> None:
    path = tmp_path / "live.wav"
    recorder = StereoRecorder(path, start=0.0)
    for pcm, at in chunks(tone(300, 8000, 3.0), 8000, 0.0):
        recorder.add_inbound(pcm, 8000, at)
    on_disk = read_wav(path.read_bytes())  # as if the process died now
    assert on_disk.duration >= 3.0 - 0.25 - 1.0 - 0.1
    recorder.close()
    assert read_wav(path).duration == pytest.approx(3.0)


def test_app_audio_scheduled_ahead_is_kept_but_stale_audio_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "ahead.wav"
    recorder = StereoRecorder(path, start=0.0)
    recorder.add_outbound(np.full(4000, 55, np.int16).tobytes(), 8000, 1.0)  # 1 s ahead
    for pcm, at in chunks(np.ones(16000, np.int16), 8000, 0.0):
        recorder.add_inbound(pcm, 8000, at)
    assert recorder.late_samples == 0
    recorder.add_outbound(np.full(800, 66, np.int16).tobytes(), 8000, 0.1)  # long written
    assert recorder.late_samples == 800
    recorder.close()
    _, right = channels(path)
    assert np.all(right[8000:12000] == 55)
    assert not (right == 66).any()
    with pytest.raises(ConfigurationError, match="closed"):
        recorder.add_inbound(b"\x00\x00", 8000, 2.0)


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_event_log_rolls_over_at_utc_midnight(tmp_path: Path) -> None:
    with JsonlEventLog(tmp_path / "logs") as log:
        log.log(ts("2024-03-09T23:59:59.500+00:00"), "CA1", "start", {"from": "+1555"})
        log.log(ts("2024-03-10T00:00:00.250+00:00"), "CA1", "dtmf", {"digit": "5"})
        # 01:00 in UTC+02:00 is still the 9th in UTC.
        log.log(ts("2024-03-10T01:00:00+02:00"), "CA2", "stop")
    first = read_lines(tmp_path / "logs" / "events-2024-03-09.jsonl")
    second = read_lines(tmp_path / "logs" / "events-2024-03-10.jsonl")
    assert [e["event"] for e in first] == ["start", "stop"]
    assert first[0] == {
        "ts": ts("2024-03-09T23:59:59.5+00:00"),
        "call_id": "CA1",
        "event": "start",
        "from": "+1555",
    }
    assert second == [
        {"ts": ts("2024-03-10T00:00:00.25+00:00"), "call_id": "CA1", "event": "dtmf", "digit": "5"}
    ]


def test_event_log_appends_across_instances(tmp_path: Path) -> None:
    when = ts("2025-01-01T12:00:00+00:00")
    for call in ("A", "B"):
        with JsonlEventLog(tmp_path) as log:
            log.log(when, call, "start")
    assert [e["call_id"] for e in read_lines(tmp_path / "events-2025-01-01.jsonl")] == ["A", "B"]


def test_payloads_are_omitted_by_default(tmp_path: Path) -> None:
    when = ts("2025-01-01T00:00:00+00:00")
    fields = {"media": {"payload": "//79", "chunk": 3}, "raw": b"\x01\x02", "frames": [b"x", 1]}
    with JsonlEventLog(tmp_path / "quiet") as log:
        log.log(when, "C", "media", fields)
    (line,) = read_lines(tmp_path / "quiet" / "events-2025-01-01.jsonl")
    assert line == {
        "ts": when,
        "call_id": "C",
        "event": "media",
        "media": {"chunk": 3},
        "frames": [1],
    }
    with JsonlEventLog(tmp_path / "full", include_payloads=True) as log:
        log.log(when, "C", "media", fields)
    (line,) = read_lines(tmp_path / "full" / "events-2025-01-01.jsonl")
    assert line["media"] == {"payload": "//79", "chunk": 3}
    assert line["raw"] == "AQI="


def test_event_log_misuse(tmp_path: Path) -> None:
    log = JsonlEventLog(tmp_path)
    with pytest.raises(ConfigurationError, match="override"):
        log.log(0.0, "C", "x", {"event": "y"})
    log.close()
    with pytest.raises(ConfigurationError, match="closed"):
        log.log(0.0, "C", "x")
