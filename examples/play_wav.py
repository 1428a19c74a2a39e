"""Play a 24 kHz WAV into a µ-law call, sentence by sentence, with a checkpoint after each.

TTS engines produce 16, 22.05, 24 or 44.1 kHz audio; Plivo streams µ-law or L16 at 8/16 kHz.
``call.play`` converts (soxr, anti-aliased) and the marks tell you what was actually heard.

Run:  python examples/play_wav.py [WAV] [PORT]     (default: the bundled demo, resampled to 24 kHz)
Try:  trio-plivo simulate ws://127.0.0.1:8000/stream --format mulaw8k --duration 6
"""

from __future__ import annotations

import logging
import sys

import trio

from trio_plivo import AudioFormat, Call, Encoding, serve
from trio_plivo.audio import WavAudio, convert, demo_caller_audio, read_wav

log = logging.getLogger("play_wav")


def load(path: str | None) -> WavAudio:
    if path:
        return read_wav(path, mono=True)
    demo = demo_caller_audio()
    pcm24k = convert(
        demo.pcm,
        AudioFormat(encoding=Encoding.L16, sample_rate=demo.sample_rate),
        AudioFormat(encoding=Encoding.L16, sample_rate=24000),
    )
    return WavAudio(pcm=pcm24k, sample_rate=24000)


def sentences(wav: WavAudio, seconds: float = 1.0) -> list[bytes]:
    step = int(wav.sample_rate * seconds) * 2
    return [wav.pcm[i : i + step] for i in range(0, len(wav.pcm), step)]


def make_app(wav: WavAudio):
    async def app(call: Call) -> None:
        log.info(
            "stream format %s, playing %.1f s of %d Hz audio",
            call.media_format,
            wav.duration,
            wav.sample_rate,
        )
        marks = []
        for index, piece in enumerate(sentences(wav)):
            await call.play(piece, sample_rate=wav.sample_rate)
            marks.append(await call.mark(f"part-{index}"))
        for mark in marks:
            result = await mark.wait()
            log.info("%s %s (%.0f ms heard)", result.name, result.status.value, result.played_ms)

    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    wav = load(sys.argv[1] if len(sys.argv) > 1 else None)
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
    trio.run(serve, make_app(wav), "127.0.0.1", port)
