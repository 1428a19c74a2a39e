"""The baseline echo servers the benchmarks measure the library against really echo: every
message back, in order, whatever the shape (a baseline that dropped or reordered would flatter
the figures it is compared with)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import trio

from trio_plivo.ws import connect_websocket

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "shape",
    [("sansio",), ("sansio-3task",), ("sansio-3task", "--handoff", "channel")],
    ids=["sansio", "sansio-3task", "sansio-3task-channel"],
)
@pytest.mark.parametrize("reply", ["echo", "play"])
async def test_baseline_answers_every_message_in_order(shape: tuple[str, ...], reply: str) -> None:
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "bench.ws_baselines", *shape, "--port", "0", "--reply", reply],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        with trio.fail_after(20):
            output = b""
            while b"\n" not in output:
                chunk = await proc.stdout.receive_some()
                assert chunk, f"the server exited: {output!r}"
                output += chunk
            found = re.search(r"ws://\S+", output.decode())
            assert found, output
            ws = await connect_websocket(found.group(0))
            payloads = [f"frame-{n}" for n in range(50)]
            sent = [
                orjson.dumps({"event": "media", "media": {"payload": p}}).decode() for p in payloads
            ]
            await ws.send_messages(sent)
            answers = [orjson.loads(await ws.receive_message()) for _ in sent]
            await ws.aclose()
    finally:
        proc.kill()
        await proc.wait()
        await proc.stdout.aclose()
    if reply == "echo":
        assert answers == [orjson.loads(message) for message in sent]
    else:
        assert [a["event"] for a in answers] == ["playAudio"] * len(payloads)
        assert [a["media"]["payload"] for a in answers] == payloads
