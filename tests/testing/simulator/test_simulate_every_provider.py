"""Issue #7's "done when": one running server with provider detection, the built-in echo app,
and the same simulated call from every provider over a real loopback WebSocket -- audio
echoed, a key press answered with a played mark, ``*`` clearing the playback, no violations.

Real sockets need the real clock: the calls last 1.6 s and run side by side.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import trio

from trio_plivo.apps.echo import echo
from trio_plivo.protocol import DetectingCodec
from trio_plivo.server import StreamServer
from trio_plivo.testing import CallerAudio, CallReport, FakeProvider
from trio_plivo.testing._simulator._providers import PHONE_PROVIDERS

RATE = 8000


def caller_tone() -> CallerAudio:
    """1.6 s of a 440 Hz tone: loud enough to find in what the caller heard back."""
    t = np.arange(round(1.6 * RATE)) / RATE
    pcm = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()
    return CallerAudio.from_pcm16(pcm, RATE)


def assert_the_echo_call_went_right(report: CallReport, log: str) -> None:
    provider = report.provider
    assert report.violations == (), provider
    heard = report.heard_samples().astype(np.float64)
    rate = report.format.sample_rate
    rms = np.sqrt(np.mean(heard[round(0.1 * rate) : round(0.35 * rate)] ** 2))
    assert rms > 1000, f"{provider}: the echo was not heard (rms {rms:.0f})"
    # 5 placed a mark that played; * cleared the playback and the audio stopped there.
    assert f"call {report.call_id}: mark dtmf-5 played" in log, provider
    assert f"call {report.call_id}: cleared playback" in log, provider
    if provider != "kookoo":  # KooKoo's marks never reach the wire (per-packet acks do)
        assert [(c.name, c.outcome) for c in report.checkpoints] == [("dtmf-5", "played")]
    else:
        assert report.counts.packet_acks > 0
    assert report.counts.clears_received == 1, provider
    [clear] = report.clears
    assert clear.heard_after == 0.0
    assert report.counts.dtmf_sent == 2


async def test_echo_passes_the_same_call_on_every_provider(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trio_plivo.apps.echo")
    server = StreamServer(echo, codec_factory=DetectingCodec)
    reports: dict[str, CallReport] = {}

    async def call(provider: str, url: str) -> None:
        fake = FakeProvider(
            provider=provider, audio=caller_tone(), dtmf=[("5", 0.4), ("*", 1.0)], duration=1.6
        )
        reports[provider] = await fake.run_url(url)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, "127.0.0.1", 0)
            url = f"ws://127.0.0.1:{server.port}{server.path}"
            async with trio.open_nursery() as calls:
                for provider in PHONE_PROVIDERS:
                    calls.start_soon(call, provider, url)
            server.shutdown()
    assert set(reports) == set(PHONE_PROVIDERS)
    for report in reports.values():
        assert_the_echo_call_went_right(report, caplog.text)
