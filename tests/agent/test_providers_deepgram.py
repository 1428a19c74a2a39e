"""Deepgram streaming STT against a fake Deepgram: in memory (protocol, reconnect, errors)
and on loopback through our own WebSocket server (URL, Authorization header)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from functools import partial

import attrs
import pytest
import trio
from trio.testing import MockClock

from trio_plivo import ConfigurationError, ConnectionClosed
from trio_plivo.agent import ProviderError
from trio_plivo.agent.providers import DeepgramSTT
from trio_plivo.transport import MessageTransport, memory_transport_pair

KEY = "dg-SECRET-key-42"


@attrs.define
class FakeDeepgram:
    """Deepgram's side: collects audio; on Finalize answers a final result per word list."""

    transcripts: list[str]
    connections: int = 0
    closed: int = 0
    audio: list[int] = attrs.Factory(list)
    controls: list[str] = attrs.Factory(list)
    headers: list[Mapping[str, str]] = attrs.Factory(list)
    drop_after: int | None = None

    async def serve(self, transport: MessageTransport) -> None:
        self.connections += 1
        received = 0
        try:
            while True:
                message = await transport.receive_message()
                if isinstance(message, bytes):
                    received += len(message)
                    continue
                kind = json.loads(message)["type"]
                self.controls.append(kind)
                if kind == "Finalize":
                    self.audio.append(received)
                    received = 0
                    if self.drop_after is not None and len(self.audio) > self.drop_after:
                        await transport.aclose(1011)
                        return
                    text = self.transcripts[len(self.audio) - 1]
                    words = text.split(" ")
                    half = len(words) // 2
                    await trio.sleep(0.05)
                    for part, last in (
                        (" ".join(words[:half]), False),
                        (" ".join(words[half:]), True),
                    ):
                        result = {
                            "type": "Results",
                            "is_final": True,
                            "speech_final": last,
                            "from_finalize": last,
                            "channel": {"alternatives": [{"transcript": part, "confidence": 0.9}]},
                        }
                        await transport.send_messages([json.dumps(result)])
                elif kind == "CloseStream":
                    await transport.send_messages([json.dumps({"type": "Metadata"})])
                    await transport.aclose(1000)
                    return
        except ConnectionClosed:
            pass
        finally:
            self.closed += 1


async def utterance(frames: int) -> AsyncIterator[bytes]:
    for _ in range(frames):
        await trio.sleep(0.02)
        yield b"\x01\x00" * 320


def connector(nursery: trio.Nursery, fake: FakeDeepgram):
    async def connect(url: str, headers: Mapping[str, str]) -> MessageTransport:
        fake.headers.append(dict(headers))
        ours, theirs = memory_transport_pair()
        nursery.start_soon(fake.serve, theirs)
        return ours

    return connect


async def test_deepgram_streams_audio_then_finalizes(autojump_clock: MockClock) -> None:
    fake = FakeDeepgram(["hello there my friend", "second one"])
    async with trio.open_nursery() as nursery:
        stt = DeepgramSTT(api_key=KEY, connect=connector(nursery, fake), keepalive_s=3)
        assert KEY not in repr(stt)
        async with stt.session() as session:
            assert await session.transcribe(utterance(25)) == "hello there my friend"
            await trio.sleep(10)  # idle between turns: keep-alives, same socket
            assert await session.transcribe(utterance(5)) == "second one"
    assert fake.connections == 1 and fake.closed == 1
    assert fake.audio == [25 * 640, 5 * 640]
    assert fake.controls.count("KeepAlive") >= 3
    assert fake.controls[-1] == "CloseStream"
    assert fake.headers == [{"Authorization": f"Token {KEY}"}]


async def test_deepgram_reconnects_after_a_dropped_socket(autojump_clock: MockClock) -> None:
    fake = FakeDeepgram(["first", "ignored", "third"], drop_after=1)
    async with trio.open_nursery() as nursery:
        stt = DeepgramSTT(api_key=KEY, connect=connector(nursery, fake), finalize_timeout=1)
        async with stt.session() as session:
            assert await session.transcribe(utterance(3)) == "first"
            with pytest.raises(ProviderError) as caught:
                await session.transcribe(utterance(3))
            assert KEY not in str(caught.value)
            fake.drop_after = None
            assert await session.transcribe(utterance(3)) == "third"
    assert fake.connections == 2 and fake.closed == 2


async def test_deepgram_cannot_connect(autojump_clock: MockClock) -> None:
    async def refuse(url: str, headers: Mapping[str, str]) -> MessageTransport:
        raise OSError("connection refused")

    async with DeepgramSTT(api_key=KEY, connect=refuse).session() as session:
        with pytest.raises(ProviderError, match="cannot connect"):
            await session.transcribe(utterance(1))


def test_deepgram_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="DEEPGRAM_API_KEY"):
        DeepgramSTT()
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)
    stt = DeepgramSTT(model="nova-2", sample_rate=8000)
    assert "encoding=linear16" in stt.url and "sample_rate=8000" in stt.url
    assert "model=nova-2" in stt.url and KEY not in stt.url


async def test_deepgram_over_loopback_with_our_websocket_server() -> None:
    from trio_plivo.ws import HandshakeRequest, accept_websocket

    fake = FakeDeepgram(["over the wire"])
    requests: list[HandshakeRequest] = []

    def route(request: HandshakeRequest) -> None:
        requests.append(request)

    async def handle(stream: trio.SocketStream) -> None:
        socket = await accept_websocket(stream, route=route)
        if socket is not None:
            await fake.serve(socket)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            stt = DeepgramSTT(api_key=KEY, url=f"ws://127.0.0.1:{port}/v1/listen")
            async with stt.session() as session:
                assert await session.transcribe(utterance(3)) == "over the wire"
            nursery.cancel_scope.cancel()
    (request,) = requests
    assert request.path == "/v1/listen"
    assert "encoding=linear16" in request.query and "sample_rate=16000" in request.query
    assert request.headers.get("authorization") == f"Token {KEY}"
    assert fake.closed == 1
