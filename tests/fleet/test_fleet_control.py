"""The control API across processes through a real redis-server (issue #14, item 3): a call
on process B is listed, cleared and hung up through process A; when B is killed its calls
leave the list within the TTL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import trio
from processes import running_until

from trio_plivo.testing import CallerAudio, CallReport, FakePlivo

from .conftest import RedisServer, eventually

TOKEN = "fleet-control-token-3c9d0e7a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SERVE = [sys.executable, "-m", "trio_plivo", "serve", "echo", "--port", "0", "--control"]


@contextmanager
def serving(redis: RedisServer) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``trio-plivo serve echo --control --registry URL`` on a free port."""
    args = [*SERVE[3:], "--registry", redis.url, "--registry-ttl", "1"]
    env = {"TRIO_PLIVO_CONTROL_TOKEN": TOKEN}
    with running_until(r"listening on http://[^:]+:(\d+)", *args, env=env) as (proc, found):
        yield proc, int(found.group(1))


async def test_a_call_on_one_process_is_operated_through_another(own_redis_server) -> None:
    with serving(own_redis_server) as (a, port_a), serving(own_redis_server) as (b, port_b):
        node_b = f"{os.uname().nodename}:{b.pid}"
        reports: list[CallReport] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}", headers=AUTH) as api:

            async def listed() -> list[dict[str, object]]:
                calls: list[dict[str, object]] = (await api.get("/calls")).json()["calls"]
                return calls

            async with trio.open_nursery() as nursery:

                async def call_b() -> None:
                    fake = FakePlivo(audio=CallerAudio.silence(20), dtmf=[("5", 0.2)])
                    reports.append(await fake.run_url(f"ws://127.0.0.1:{port_b}/stream"))

                nursery.start_soon(call_b)
                await eventually(lambda: _has_calls(listed, 1), deadline_s=15)
                (entry,) = await listed()
                assert entry["node"] == node_b and entry["provider"] == "plivo"
                one = await api.get(f"/calls/{entry['stream_id']}")  # forwarded to B
                cleared = await api.post(f"/calls/{entry['call_id']}/clear")
                hung_up = await api.post(f"/calls/{entry['call_id']}/hangup")
            assert one.status_code == 200 and one.json()["node"] == node_b
            assert "frames_in" in one.json()  # B's live counters, not just the registration
            assert cleared.status_code == 200 and hung_up.status_code == 200
            (report,) = reports
            assert len(report.clears) == 1 and report.close.by == "app"
            await eventually(lambda: _has_calls(listed, 0), deadline_s=10)

            # B dies with a call: its entry expires (TTL 1 s), and A says so.
            async with trio.open_nursery() as nursery:
                fake = FakePlivo(audio=CallerAudio.silence(30))
                nursery.start_soon(fake.run_url, f"ws://127.0.0.1:{port_b}/stream")
                await eventually(lambda: _has_calls(listed, 1), deadline_s=15)
                (orphan,) = await listed()
                b.kill()
                b.wait()
                await eventually(lambda: _has_calls(listed, 0), deadline_s=10)
                gone = await api.post(f"/calls/{orphan['call_id']}/clear")
                nursery.cancel_scope.cancel()
            assert gone.status_code == 404
        assert a.poll() is None  # A never noticed anything but the calls


async def _has_calls(listed, count: int) -> bool:
    return len(await listed()) == count
