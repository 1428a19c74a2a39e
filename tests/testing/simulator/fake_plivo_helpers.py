"""Raw-protocol building blocks for the FakePlivo tests: apps parse and build JSON themselves,
so these tests exercise the simulator, not our own protocol layer."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import attrs
import orjson
import trio

from trio_plivo import AudioFormat, ConnectionClosed
from trio_plivo.transport import MessageTransport


def dumps(obj: object) -> str:
    return orjson.dumps(obj).decode()


def play_audio(fmt: AudioFormat, audio: bytes) -> str:
    media = {
        "contentType": fmt.content_type,
        "sampleRate": fmt.sample_rate,
        "payload": base64.b64encode(audio).decode(),
    }
    return dumps({"event": "playAudio", "media": media})


def checkpoint(stream_id: str, name: str) -> str:
    return dumps({"event": "checkpoint", "streamId": stream_id, "name": name})


def clear_audio(stream_id: str) -> str:
    return dumps({"event": "clearAudio", "streamId": stream_id})


def l16(seconds: float, value: int = 1000, rate: int = 8000) -> bytes:
    """A constant PCM16LE tone of ``seconds``: easy to find in the heard timeline."""
    return value.to_bytes(2, "little", signed=True) * round(seconds * rate)


@attrs.define
class Received:
    """Everything an app received: ``(time, parsed message)`` pairs, plus the close."""

    start_time: float = 0.0
    messages: list[tuple[float, dict[str, object]]] = attrs.Factory(list)
    raw: list[tuple[float, str | bytes]] = attrs.Factory(list)
    close_code: int | None = None

    def named(self, event: str) -> list[tuple[float, dict[str, object]]]:
        return [(t, m) for t, m in self.messages if m.get("event") == event]

    def times(self, event: str) -> list[float]:
        return [t - self.start_time for t, _ in self.named(event)]


async def drain(transport: MessageTransport, received: Received) -> None:
    """Record every message until the simulator closes the connection."""
    while True:
        try:
            message = await transport.receive_message()
        except ConnectionClosed as exc:
            received.close_code = exc.code
            return
        now = trio.current_time()
        received.raw.append((now, message))
        try:
            parsed = orjson.loads(message)
        except orjson.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            received.messages.append((now, parsed))


Script = Callable[[MessageTransport, str, Received], Awaitable[None]]


def scripted_app(
    received: Received, script: Script | None = None
) -> Callable[[MessageTransport], Awaitable[None]]:
    """An app that reads ``start``, runs ``script(transport, stream_id, received)`` while
    recording everything it receives, and returns when the simulator hangs up."""

    async def app(transport: MessageTransport) -> None:
        first = await transport.receive_message()
        received.start_time = trio.current_time()
        start = orjson.loads(first)
        received.messages.append((received.start_time, start))
        stream_id = start["start"]["streamId"]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain, transport, received)
            if script is not None:
                await script(transport, stream_id, received)

    return app


async def send(transport: MessageTransport, *messages: str | bytes) -> None:
    await transport.send_messages(list(messages))
