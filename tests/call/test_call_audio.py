"""Call integration of the audio module: play anything, hear the caller at any rate, record."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest
import trio
import trio.lowlevel
from conftest import audio_payloads

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat, Encoding
from trio_plivo.audio import convert, decode_wire, read_wav, write_wav
from trio_plivo.call import CallConfig, open_call

PCM24K = AudioFormat(encoding=Encoding.L16, sample_rate=24000)


def tone(rate: int, seconds: float, hz: float = 440.0, amplitude: int = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


async def played_wire(peer, call) -> bytes:
    await call.mark("end")
    return b"".join(audio_payloads(await peer.receive_until("checkpoint")))


@pytest.mark.parametrize("fmt", [MULAW_8K, L16_8K, L16_16K], ids=str)
async def test_pcm_at_24k_is_converted_to_the_stream_format(pair, autojump_clock, fmt) -> None:
    app, peer = pair
    pcm = tone(24000, 0.5)
    with trio.fail_after(10):
        await peer.start(fmt)
        async with open_call(app) as call:
            await call.play(pcm, sample_rate=24000)
            wire = await played_wire(peer, call)
    expected = convert(pcm, PCM24K, fmt)
    assert len(expected) == fmt.bytes_for(500)
    assert wire == expected  # whole buffers are converted in one piece: exact


async def test_wav_path_and_wav_bytes(pair, autojump_clock, tmp_path) -> None:
    app, peer = pair
    pcm = tone(16000, 0.2, hz=300)
    path = tmp_path / "prompt.wav"
    write_wav(path, pcm, sample_rate=16000)
    with trio.fail_after(10):
        await peer.start(MULAW_8K)
        async with open_call(app) as call:
            await call.play(path)
            from_path = await played_wire(peer, call)
            await call.play(path.read_bytes())
            await call.mark("again")
            from_bytes = b"".join(audio_payloads(await peer.receive_until("checkpoint")))
    expected = convert(pcm, AudioFormat(encoding=Encoding.L16, sample_rate=16000), MULAW_8K)
    assert from_path == expected
    assert from_bytes == expected


async def test_streaming_pcm_chunks_are_resampled_statefully(pair, autojump_clock) -> None:
    app, peer = pair
    pcm = tone(24000, 1.0, hz=500)

    async def tts():  # arbitrary chunk sizes, including odd byte counts
        sizes = [1001, 3, 4800, 7, 12000]
        offset = 0
        while offset < len(pcm):
            size = sizes[offset % len(sizes)]
            yield pcm[offset : offset + size]
            offset += size
            await trio.lowlevel.checkpoint()

    with trio.fail_after(10):
        await peer.start(L16_8K)
        async with open_call(app) as call:
            await call.play(tts(), sample_rate=24000)
            wire = await played_wire(peer, call)
    got = decode_wire(wire, L16_8K).astype(np.int32)
    whole = decode_wire(convert(pcm, PCM24K, L16_8K), L16_8K).astype(np.int32)
    assert abs(len(got) - len(whole)) <= 160  # at most the padding of the last frame
    n = min(len(got), len(whole))
    # streamed in pieces == converted in one piece (no clicks at chunk boundaries)
    assert np.max(np.abs(got[:n] - whole[:n])) <= 2


async def test_caller_audio_is_decoded_to_the_requested_rate(pair, autojump_clock) -> None:
    app, peer = pair
    caller = tone(8000, 1.0, hz=400)
    wire = convert(caller, L16_8K, MULAW_8K)
    with trio.fail_after(10):
        await peer.start(MULAW_8K)
        async with open_call(app) as call:
            for i in range(0, len(wire), 160):
                await peer.media(wire[i : i + 160], chunk=i // 160 + 1)
            await peer.dtmf("3")  # not audio: skipped
            chunks = []
            async for pcm in call.caller_audio(16000):
                chunks.append(pcm)
                if len(chunks) == 50:
                    break
    pcm16k = np.frombuffer(b"".join(chunks), "<i2")
    assert len(pcm16k) > 14500  # 1 s at 16 kHz, less the resampler's hold-back (~65 ms)
    spectrum = np.abs(np.fft.rfft(pcm16k * np.hanning(len(pcm16k))))
    peak_hz = np.argmax(spectrum) * 16000 / len(pcm16k)
    assert peak_hz == pytest.approx(400, abs=5)


async def test_recording_and_event_log(pair, autojump_clock, tmp_path) -> None:
    app, peer = pair
    config = CallConfig(record_dir=tmp_path / "rec", event_log_dir=tmp_path / "log")
    caller = b"\x40" * 160  # a constant non-silent µ-law value
    played = convert(tone(8000, 0.4, hz=600), L16_8K, MULAW_8K)
    with trio.fail_after(10):
        await peer.start(MULAW_8K)
        async with open_call(app, config=config) as call:
            for chunk in range(1, 26):  # 500 ms of caller audio, on the clock
                await peer.media(caller, chunk=chunk)
                await trio.sleep(0.02)
            await trio.sleep(0.5)  # 0.5 s .. 1.0 s: silence on both sides
            await call.play(played)  # plays from 1.0 s to 1.4 s
            await peer.receive_until("playAudio")
            await trio.sleep(1.0)
            await peer.dtmf("7")
            await trio.sleep(0.1)
    audio = read_wav(tmp_path / "rec" / "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10.wav")
    assert audio.channels == 2
    assert audio.sample_rate == 8000
    left, right = audio.samples[:, 0], audio.samples[:, 1]
    heard_left = np.nonzero(left)[0]
    assert heard_left[0] == 0
    assert heard_left[-1] == pytest.approx(4000, abs=80)  # caller spoke for the first 0.5 s
    heard_right = np.nonzero(np.abs(right) > 100)[0]
    assert heard_right[0] == pytest.approx(8000, abs=10)  # app audio starts at 1.0 s
    assert heard_right[-1] == pytest.approx(11200, abs=80)  # and plays 0.4 s
    lines = [
        json.loads(line)
        for f in (tmp_path / "log").iterdir()
        for line in f.read_text().splitlines()
    ]
    events = [line["event"] for line in lines]
    assert events[0] == "start"
    assert events.count("media") == 25
    # Every audio frame sent is a line too (0.4 s: 20 frames of 160 bytes), payload omitted.
    sent = [line for line in lines if line["event"] == "playAudio"]
    assert len(sent) == 20 and {line["bytes"] for line in sent} == {160}
    assert "dtmf" in events[-3:]
    assert events[-1] == "closed"
    assert all("payload" not in line for line in lines)
    with wave.open(str(tmp_path / "rec" / "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10.wav")) as w:
        assert w.getnchannels() == 2
