"""``/status`` callbacks into subscribers, and ``/healthz``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import trio
from web_helpers import TOKEN, request, running

from trio_plivo import ConfigurationError
from trio_plivo.apps import echo
from trio_plivo.server import StreamServer
from trio_plivo.signatures import SignatureValidator, signature_headers
from trio_plivo.web import PlivoFront, StreamStatus, parse_stream_status
from trio_plivo.web._http import WebRequest
from trio_plivo.ws import Headers, connect_websocket

START = {
    "Event": "StartStream",
    "StreamID": "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655",
    "CallUUID": "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10",
    "Timestamp": "2026-01-02 03:04:05",
    "BrandNewField": "kept",
}


async def test_status_post_and_get_reach_every_subscriber() -> None:
    front = PlivoFront(StreamServer(echo))
    with trio.fail_after(10):
        async with running(front):
            with front.status_events() as first, front.status_events() as second:
                posted = await request(front.port, "POST", "/status", form=START)
                got = await request(
                    front.port, "GET", "/status?Event=DroppedStream&StreamID=s2&Weird=1"
                )
                assert (posted.status, got.status) == (200, 200)
                events = [await first.receive(), await first.receive()]
                assert [await second.receive(), await second.receive()] == events
    start, dropped = events
    assert start.status is StreamStatus.START
    assert start.stream_id == START["StreamID"]
    assert start.call_uuid == START["CallUUID"]
    assert start.timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert start.params["BrandNewField"] == "kept"  # unknown keys are kept
    assert dropped.status is StreamStatus.DROPPED and dropped.is_problem
    assert dropped.params["Weird"] == "1"
    assert front.statistics().status_callbacks == 2


async def test_status_requires_a_signature_when_configured() -> None:
    front = PlivoFront(StreamServer(echo, signature_validator=SignatureValidator(TOKEN)))
    with trio.fail_after(10):
        async with running(front):
            url = f"http://127.0.0.1:{front.port}/status"
            with front.status_events() as events:
                forged = signature_headers(url, "not-our-token", params=START)
                refused = await request(front.port, "POST", "/status", headers=forged, form=START)
                good = signature_headers(url, TOKEN, params=START)
                accepted = await request(front.port, "POST", "/status", headers=good, form=START)
                event = await events.receive()
    assert refused.status == 403
    assert accepted.status == 200
    assert event.status is StreamStatus.START
    stats = front.statistics()
    assert (stats.status_callbacks, stats.refused_signatures) == (1, 1)  # forged one never parsed


async def test_a_full_subscriber_loses_the_oldest_events_and_counts_them() -> None:
    front = PlivoFront(StreamServer(echo))
    hub_publish = front._routes.hub.publish  # the same call /status makes
    with front.status_events(buffer=2) as slow, front.status_events(buffer=8) as roomy:
        for n in range(5):
            hub_publish(parse_stream_status({"Event": "DegradedStream", "n": str(n)}))
        assert slow.dropped == 3
        assert roomy.dropped == 0
        assert [(await slow.receive()).params["n"] for _ in range(2)] == ["3", "4"]
        assert [(await roomy.receive()).params["n"] for _ in range(5)] == list("01234")
    assert front.statistics().status_dropped == 3
    with pytest.raises(ConfigurationError):
        front.status_events(buffer=0)


async def test_subscriptions_end_when_the_front_stops() -> None:
    front = PlivoFront(StreamServer(echo))
    seen = []

    async def watch(task_status=trio.TASK_STATUS_IGNORED) -> None:
        with front.status_events() as events:
            task_status.started()
            async for event in events:
                seen.append(event.event)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery, running(front):
            await nursery.start(watch)
            await request(front.port, "POST", "/status", form={"Event": "StopStream"})
        # the watcher's loop ended by itself when the front stopped (else: fail_after)
    assert seen == ["StopStream"]


# --- /healthz ---------------------------------------------------------------------------------


async def test_healthz_reports_active_calls() -> None:
    release = trio.Event()

    async def app(call) -> None:
        await release.wait()

    front = PlivoFront(StreamServer(app))
    with trio.fail_after(10):
        async with running(front):
            idle = await request(front.port, "GET", "/healthz")
            ws = await connect_websocket(f"ws://127.0.0.1:{front.port}/stream")
            await ws.send_message(
                json.dumps(
                    {
                        "event": "start",
                        "sequenceNumber": 1,
                        "start": {
                            "callId": "c",
                            "streamId": "s",
                            "accountId": "MA",
                            "tracks": ["inbound"],
                            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
                        },
                    }
                )
            )
            while front.server.active_calls == 0:
                await trio.testing.wait_all_tasks_blocked()
            busy = await request(front.port, "GET", "/healthz")
            head = await request(front.port, "HEAD", "/healthz")
            release.set()
            await ws.aclose()
    assert idle.status == 200
    assert idle.headers["content-type"] == "application/json"
    assert json.loads(idle.body) == {"status": "ok", "active_calls": 0, "total_calls": 0}
    assert json.loads(busy.body)["active_calls"] == 1
    assert head.status == 200 and head.body == b""


async def test_healthz_says_draining_with_503() -> None:
    server = StreamServer(echo)
    front = PlivoFront(server)
    server.shutdown()  # draining before it even started
    answer = await front._routes.handle(
        WebRequest("GET", "/healthz", "/healthz", "", Headers([("Host", "x")]))
    )
    assert answer.status == 503
    assert json.loads(answer.body)["status"] == "draining"


async def test_healthz_answers_draining_during_a_real_shutdown() -> None:
    """The listener stays open while calls drain, so a load balancer reads 503 "draining"
    instead of a refused connection (issue #14, item 5)."""
    from web_helpers import request, running

    from trio_plivo.testing import CallerAudio, FakePlivo

    release, started = trio.Event(), trio.Event()

    async def lingering(call) -> None:
        started.set()
        await release.wait()

    front = PlivoFront(StreamServer(lingering, shutdown_grace=30))
    with trio.fail_after(20):
        async with running(front):
            port = front.port
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    FakePlivo(audio=CallerAudio.silence(30)).run_url,
                    f"ws://127.0.0.1:{port}/stream",
                )
                await started.wait()
                front.shutdown()
                health = await request(port, "GET", "/healthz")
                release.set()
                nursery.cancel_scope.cancel()
    assert health.status == 503
    assert json.loads(health.body) == {"status": "draining", "active_calls": 1, "total_calls": 1}


async def test_an_empty_status_request_is_a_400_naming_what_is_missing() -> None:
    from web_helpers import request, running

    front = PlivoFront(StreamServer(echo))
    with trio.fail_after(10):
        async with running(front):
            empty = await request(front.port, "GET", "/status")
            posted = await request(front.port, "POST", "/status", form={"StreamID": "s"})
    for answer in (empty, posted):
        assert answer.status == 400
        assert json.loads(answer.body) == {"error": "not a stream status callback: missing Event"}
    assert front.statistics().status_callbacks == 0


async def test_the_simulated_close_names_the_provider(autojump_clock) -> None:
    from trio_plivo.testing import FakeProvider, run_handler

    report = await run_handler(echo, FakeProvider(provider="twilio", duration=0.5, end="close"))
    assert report.close.by == "twilio"
