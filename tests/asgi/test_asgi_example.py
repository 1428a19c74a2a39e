"""examples/asgi_starlette.py does what its docstring says: calls on the WebSocket route and
on the mounted app, echoed with marks and a clear, beside the app's own /health route."""

from __future__ import annotations

import httpx
import pytest
import trio
from asgi_helpers import eventually, running_hypercorn
from examples_loader import load_example as load_examples_file

from trio_plivo.testing import CallerAudio, FakePlivo

pytestmark = pytest.mark.slow


def load_example():
    return load_examples_file("asgi_starlette")


async def test_the_starlette_example_serves_calls_on_its_route_and_its_mount() -> None:
    example = load_example()
    with trio.fail_after(30):
        async with running_hypercorn(example.make_app()) as port:
            routed = await FakePlivo(
                audio=CallerAudio.demo(), duration=1.0, dtmf=[("5", 0.2), ("*", 0.6)]
            ).run_url(f"ws://127.0.0.1:{port}/stream")
            mounted = await FakePlivo(duration=0.3, provider="twilio").run_url(
                f"ws://127.0.0.1:{port}/mounted/stream"
            )
            await eventually(lambda: example.server.active_calls == 0, "the calls' end")
            async with httpx.AsyncClient() as client:
                health = await client.get(f"http://127.0.0.1:{port}/health")
    # Every frame is echoed, except what the clear drops: a frame read together with the
    # `*` is queued and then cleared (the clear's job, not a loss).
    sent, echoed = routed.counts.media_sent, routed.counts.play_audio_received
    assert sent > 0 and sent - 2 <= echoed <= sent
    assert [c.outcome for c in routed.checkpoints] == ["played"]
    assert len(routed.clears) == 1
    assert mounted.violations == () and mounted.counts.play_audio_received > 0
    assert example.server.total_calls == 2
    assert health.json() == {"active_calls": 0, "draining": False}
