"""``GET /metrics`` (issue #14, item 4): the Prometheus text format, read back by
``prometheus_client``'s own parser, with counters that match a scripted call."""

from __future__ import annotations

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from test_control_api import AUTH, TOKEN, until

from trio_plivo.apps import echo
from trio_plivo.server import StreamServer
from trio_plivo.testing import CallerAudio, FakePlivo
from trio_plivo.web import PlivoFront
from trio_plivo.ws import WebSocketHandshakeError, connect_websocket


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_match_a_scripted_echo_call() -> None:
    front = PlivoFront(StreamServer(echo), control_token=TOKEN)
    fake = FakePlivo(audio=CallerAudio.silence(1.0), dtmf=[("5", 0.3), ("*", 0.6)])
    async with trio.open_nursery() as nursery:
        await nursery.start(front.serve, "127.0.0.1", 0)
        port = front.port
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=10) as client:
            during = None
            report_holder = []

            async def call() -> None:
                report_holder.append(await fake.run_url(f"ws://127.0.0.1:{port}/stream"))

            nursery.start_soon(call)
            await until(lambda: len(front.server.calls) == 1)
            during = samples((await client.get("/metrics")).text)
            await until(lambda: report_holder)
            await until(lambda: len(front.server.calls) == 0)
            with pytest.raises(WebSocketHandshakeError):
                await connect_websocket(f"ws://127.0.0.1:{port}/elsewhere")
            answer = await client.get("/metrics")
            unauthorised = await client.get("/metrics", headers={"Authorization": ""})
        front.shutdown()
    (report,) = report_holder
    after = samples(answer.text)
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert unauthorised.status_code == 401
    assert during[("trio_plivo_active_calls", (("provider", "plivo"),))] == 1
    assert ("trio_plivo_active_calls", (("provider", "plivo"),)) not in after  # none live
    assert after[("trio_plivo_calls_total", (("code", "1000"),))] == 1
    assert after[("trio_plivo_frames_in_total", ())] == report.counts.media_sent
    assert after[("trio_plivo_frames_out_total", ())] == report.counts.play_audio_received
    assert after[("trio_plivo_frames_dropped_total", ())] == 0
    assert after[("trio_plivo_malformed_messages_total", ())] == 0
    # Key 5 placed a mark that played; * cleared the audio (no mark pending then).
    assert after[("trio_plivo_marks_total", (("outcome", "played"),))] == 1
    assert after[("trio_plivo_mark_round_trip_seconds_count", ())] == 1
    assert after[("trio_plivo_handshake_refusals_total", (("status", "404"),))] == 1
    assert after[("trio_plivo_event_loop_lateness_seconds_count", ())] >= 1
