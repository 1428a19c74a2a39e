"""The agent with the real HTTP providers on httpx.MockTransport: every stream the
providers open is closed when the caller hangs up mid-answer, and an HTTP error ends only
the turn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import attrs
import httpx
import pytest
import trio
from agent_fakes import FakeSTT, speech
from extras import needs_extra
from trio.testing import MockClock

from trio_plivo import L16_8K
from trio_plivo.agent import AgentConfig, Summary, run_agent
from trio_plivo.agent.providers import OpenAILLM, OpenAITTS
from trio_plivo.call import Call
from trio_plivo.testing import CallerAudio, FakePlivo, run_handler

pytestmark = needs_extra("webrtcvad", "agent")


@attrs.define
class FakeOpenAI:
    """Chat completions and speech, with fixed latencies; counts open response bodies."""

    answers: list[str | int]
    first_token: float = 0.3
    opened: int = 0
    closed: int = 0
    paths: list[str] = attrs.Factory(list)

    def _body(self, parts: list[bytes], gap: float) -> httpx.AsyncByteStream:
        self.opened += 1
        return _Body(self, parts, gap)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path.endswith("/chat/completions"):
            answer = self.answers.pop(0) if self.answers else "Okay."
            await trio.sleep(self.first_token)
            if isinstance(answer, int):
                return httpx.Response(answer, json={"error": {"message": "nope"}})
            events = [
                f"data: {json.dumps({'choices': [{'delta': {'content': w + ' '}}]})}\n\n".encode()
                for w in answer.split(" ")
            ]
            return httpx.Response(200, stream=self._body([*events, b"data: [DONE]\n\n"], 0.02))
        text = json.loads(await request.aread())["input"]
        # 24 kHz PCM, 50 ms per character, streamed in 100 ms chunks at real-time speed.
        chunk = b"\x00\x10" * 2400
        count = max(1, len(text) // 2)
        return httpx.Response(200, stream=self._body([chunk] * count, 0.1))


class _Body(httpx.AsyncByteStream):
    """A response body as the transport sees it: closed by httpx when the response is
    closed, however far it was read (what a real connection's release does)."""

    def __init__(self, fake: FakeOpenAI, parts: list[bytes], gap: float) -> None:
        self._fake = fake
        self._parts = parts
        self._gap = gap
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self._parts:
            await trio.sleep(self._gap)
            yield part

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._fake.closed += 1


async def run(fake: FakeOpenAI, caller: CallerAudio, duration: float) -> Summary:
    transport = httpx.MockTransport(fake.handle)
    config = AgentConfig(
        stt=FakeSTT(["hello", "again"]),
        llm=OpenAILLM(api_key="k", transport=transport),
        tts=OpenAITTS(api_key="k", transport=transport),
        end_of_turn_ms=400,
    )
    summaries: list[Summary] = []

    async def handler(call: Call) -> None:
        summaries.append(await run_agent(call, config))

    with trio.fail_after(60):
        await run_handler(handler, FakePlivo(format=L16_8K, audio=caller, duration=duration))
    return summaries[0]


# httpx nests async generators for a response body and closes only the outer one when a
# stream is cut: Trio's GC finaliser warns about the inner ones (the body itself is closed
# by httpx, which is what this test counts).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_hang_up_mid_answer_closes_every_http_stream(autojump_clock: MockClock) -> None:
    fake = FakeOpenAI(["A long answer. " * 10])
    caller = CallerAudio.silence(0.3) + CallerAudio.from_pcm16(speech(0.6), 8000)
    summary = await run(fake, caller, duration=2.5)
    assert fake.opened >= 2  # the chat stream and at least one speech stream
    assert fake.closed == fake.opened
    assert summary.ended_by == "caller"
    assert summary.messages[-1].interrupted


async def test_http_error_ends_the_turn_and_the_call_goes_on(autojump_clock: MockClock) -> None:
    fake = FakeOpenAI([500, "Fine now."])
    caller = CallerAudio.silence(0.3) + CallerAudio.from_pcm16(speech(0.6), 8000)
    caller += CallerAudio.silence(4.0) + CallerAudio.from_pcm16(speech(0.6), 8000)
    summary = await run(fake, caller, duration=10)
    assert summary.provider_errors == 1
    contents = [(m.role, m.content) for m in summary.messages]
    assert contents[:2] == [
        ("user", "hello"),
        ("assistant", "Sorry, I had a problem there. Could you say that again?"),
    ]
    assert contents[2:] == [("user", "again"), ("assistant", "Fine now.")]
    assert fake.closed == fake.opened
