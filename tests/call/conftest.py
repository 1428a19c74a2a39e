"""A minimal hand-driven Plivo peer for call-layer tests (the simulator has its own tests)."""

from __future__ import annotations

import base64
import json
from typing import Any

import attrs
import pytest
import trio

from trio_plivo import MULAW_8K, AudioFormat
from trio_plivo.transport import MemoryTransport, memory_transport_pair

STREAM_ID = "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655"
CALL_ID = "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10"


@attrs.define
class Received:
    at: float
    message: dict[str, Any]


@attrs.define
class PlivoPeer:
    """Plivo's end of a memory transport, driven by the test."""

    transport: MemoryTransport
    seq: int = 0
    received: list[Received] = attrs.Factory(list)

    async def send(self, message: dict[str, Any] | str) -> None:
        self.seq += 1
        if isinstance(message, dict):
            message = json.dumps({"sequenceNumber": self.seq, **message})
        await self.transport.send_messages([message])

    async def start(
        self, fmt: AudioFormat = MULAW_8K, headers: str | None = "tenant=acme;lead=42"
    ) -> None:
        msg: dict[str, Any] = {
            "event": "start",
            "start": {
                "callId": CALL_ID,
                "streamId": STREAM_ID,
                "accountId": "MAXXXXXXXXXXXXXXXXXX",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": fmt.content_type, "sampleRate": fmt.sample_rate},
            },
        }
        if headers is not None:
            msg["extra_headers"] = headers
        await self.send(msg)

    async def media(self, payload: bytes, chunk: int = 1) -> None:
        await self.send(
            {
                "event": "media",
                "streamId": STREAM_ID,
                "media": {
                    "track": "inbound",
                    "timestamp": str(chunk * 20),
                    "chunk": chunk,
                    "payload": base64.b64encode(payload).decode(),
                },
            }
        )

    async def dtmf(self, digit: str) -> None:
        await self.send(
            {"event": "dtmf", "streamId": STREAM_ID, "dtmf": {"track": "inbound", "digit": digit}}
        )

    async def played(self, name: str) -> None:
        await self.send({"event": "playedStream", "streamId": STREAM_ID, "name": name})

    async def receive(self) -> dict[str, Any]:
        raw = await self.transport.receive_message()
        assert isinstance(raw, str)
        message = json.loads(raw)
        self.received.append(Received(trio.current_time(), message))
        return message

    async def receive_until(self, event: str) -> list[dict[str, Any]]:
        """Receive messages up to and including the first ``event`` one."""
        got = []
        while True:
            message = await self.receive()
            got.append(message)
            if message["event"] == event:
                return got

    async def collect(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Receive forever (run in a nursery), timestamping everything."""
        task_status.started()
        try:
            while True:
                await self.receive()
        except Exception:
            return


@pytest.fixture
def pair() -> tuple[MemoryTransport, PlivoPeer]:
    app_end, plivo_end = memory_transport_pair()
    return app_end, PlivoPeer(plivo_end)


def audio_payloads(messages: list[Received] | list[dict[str, Any]]) -> list[bytes]:
    out = []
    for item in messages:
        message = item.message if isinstance(item, Received) else item
        if message["event"] == "playAudio":
            out.append(base64.b64decode(message["media"]["payload"]))
    return out
