"""The simulator's pure parts: the playout model, caller audio, the report's summaries."""

from __future__ import annotations

import base64
import io
import math
import wave

import numpy as np
import numpy.typing as npt
import pytest
import trio
from fake_plivo_helpers import Received, scripted_app
from trio.testing import MockClock

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat, ConfigurationError
from trio_plivo.testing import CallerAudio, FakePlivo
from trio_plivo.testing._simulator._playout import Playout


def _tone(n: int, value: int = 100) -> npt.NDArray[np.int16]:
    return np.full(n, value, dtype=np.int16)


class TestPlayout:
    def test_audio_queues_back_to_back_and_resumes_after_running_dry(self) -> None:
        playout = Playout()
        assert playout.enqueue(10, _tone(100)).start == 10
        assert playout.enqueue(20, _tone(50)).start == 110  # behind the queued audio
        assert playout.enqueue(400, _tone(10)).start == 400  # buffer ran dry at 160
        assert playout.runs(1000) == [(10, 160), (400, 410)]

    def test_checkpoint_is_due_when_the_audio_before_it_ends(self) -> None:
        playout = Playout()
        assert playout.checkpoint(5, "empty") == 5
        playout.enqueue(5, _tone(100))
        assert playout.checkpoint(6, "a") == 105
        playout.enqueue(7, _tone(100))
        assert playout.checkpoint(8, "b") == 205
        assert playout.next_due() == 5
        assert playout.pop_due(104) == ["empty"]
        assert playout.pop_due(205) == ["a", "b"]
        assert playout.next_due() is None

    def test_clear_cuts_the_queue_and_drops_checkpoints_behind_it(self) -> None:
        playout = Playout()
        playout.enqueue(0, _tone(1000))
        playout.checkpoint(0, "first")
        playout.checkpoint(0, "behind")
        assert playout.pop_due(0) == []  # both wait for the 1000 samples
        outcome = playout.clear(300)
        assert outcome.discarded == 700
        assert outcome.heard_after == 0
        assert outcome.dropped_checkpoints == ("first", "behind")
        assert playout.pending_names() == []
        assert playout.queued_end() == 300
        assert playout.enqueue(310, _tone(5)).start == 310
        heard = playout.heard(400)
        assert np.count_nonzero(heard) == 305

    def test_clear_with_latency_keeps_checkpoints_due_before_the_cut(self) -> None:
        playout = Playout()
        playout.enqueue(0, _tone(100))
        playout.checkpoint(0, "kept")
        playout.enqueue(0, _tone(100))
        playout.checkpoint(0, "dropped")
        outcome = playout.clear(50, latency=80)
        assert (outcome.heard_after, outcome.discarded) == (80, 70)
        assert outcome.dropped_checkpoints == ("dropped",)
        assert playout.pending_names() == ["kept"]

    def test_heard_is_cut_at_the_end_of_the_call(self) -> None:
        playout = Playout()
        playout.enqueue(0, _tone(100, 7))
        assert len(playout.heard(40)) == 40
        assert playout.runs(40) == [(0, 40)]


class TestCallerAudio:
    async def _frames(self, audio: CallerAudio, fmt: AudioFormat) -> list[bytes]:
        cursor = audio.open(fmt)
        frames = []
        while (frame := await cursor.next_frame()) is not None:
            frames.append(frame)
        await cursor.aclose()
        return frames

    @pytest.mark.parametrize(("fmt", "blank"), [(MULAW_8K, 0xFF), (L16_8K, 0), (L16_16K, 0)])
    async def test_silence_is_whole_frames_of_the_formats_silence(
        self, fmt: AudioFormat, blank: int
    ) -> None:
        frames = await self._frames(CallerAudio.silence(0.1), fmt)
        assert frames == [bytes([blank]) * fmt.bytes_for(20)] * 5

    def test_negative_silence_is_refused(self) -> None:
        with pytest.raises(ValueError, match="non-negative"):
            CallerAudio.silence(-1)

    async def test_endless_silence_keeps_going(self) -> None:
        cursor = CallerAudio.silence(math.inf).open(MULAW_8K)
        for _ in range(1000):
            assert await cursor.next_frame() == b"\xff" * 160

    async def test_pcm16_at_another_rate_is_converted(self) -> None:
        rate = 16000
        t = np.arange(rate // 2) / rate
        pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
        frames = await self._frames(CallerAudio.from_pcm16(pcm, rate), MULAW_8K)
        assert len(frames) == 25
        assert all(len(f) == 160 for f in frames)
        assert len(set(b"".join(frames))) > 20  # a real tone, not silence

    @pytest.mark.parametrize("bad", [(b"\x00", 8000), (b"\x00\x00", 0)])
    def test_bad_pcm16_is_refused(self, bad: tuple[bytes, int]) -> None:
        with pytest.raises(ConfigurationError):
            CallerAudio.from_pcm16(*bad)

    async def test_wav_at_any_rate_is_converted_to_the_stream(self) -> None:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(48000)
            out.writeframes((np.full(48000 // 5 * 2, 3000, dtype="<i2")).tobytes())
        frames = await self._frames(CallerAudio.from_wav(buffer.getvalue()), L16_16K)
        assert len(frames) == 10  # 0.2 s
        samples = np.frombuffer(b"".join(frames), dtype="<i2")
        assert abs(int(np.median(samples)) - 3000) < 50

    async def test_demo_speech_is_a_few_seconds_of_sound(self) -> None:
        frames = await self._frames(CallerAudio.demo(), MULAW_8K)
        assert 100 <= len(frames) <= 250
        assert len(set(b"".join(frames))) > 50

    async def test_async_generator_is_closed_when_the_call_ends_early(
        self, autojump_clock: MockClock
    ) -> None:
        closed = trio.Event()

        async def frames() -> object:
            try:
                while True:
                    yield b"\x01" * 160
            finally:
                closed.set()

        with trio.fail_after(5):
            await FakePlivo(audio=CallerAudio.from_frames(frames()), duration=0.1).run(  # type: ignore[arg-type]
                scripted_app(Received())
            )
        assert closed.is_set()


async def test_media_payloads_follow_the_wav(autojump_clock: MockClock) -> None:
    pcm = np.full(1600, 2000, dtype="<i2").tobytes()  # 0.2 s at 8 kHz
    received = Received()
    fake = FakePlivo(format=L16_8K, audio=CallerAudio.from_pcm16(pcm, 8000))
    with trio.fail_after(5):
        await fake.run(scripted_app(received))
    payloads = b"".join(
        base64.b64decode(m["media"]["payload"])  # type: ignore[index]
        for _, m in received.named("media")
    )
    assert payloads == pcm
