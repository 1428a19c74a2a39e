"""The HTTP providers against httpx.MockTransport: request shapes, streaming parsing,
errors as ProviderError, keys from the environment and never leaked."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import trio
from trio.testing import MockClock

from trio_plivo import ConfigurationError
from trio_plivo.agent import EndCall, Message, ProviderError
from trio_plivo.agent.providers import ElevenLabsTTS, OpenAILLM, OpenAISTT, OpenAITTS

KEY = "sk-test-SECRET-0123456789"


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)


Handler = Callable[[httpx.Request], httpx.Response]


def recorder(handler: Handler) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        await request.aread()
        seen.append(request)
        return handler(request)

    return httpx.MockTransport(handle), seen


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await trio.sleep(0.01)
        yield part


def sse(*events: dict[str, object], done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


async def collect(stream: AsyncIterator[object]) -> list[object]:
    return [item async for item in stream]


CONVERSATION = (
    Message(role="assistant", content="Hello! Press a key."),
    Message(role="user", content="1", dtmf=True),
    Message(role="assistant", content="", interrupted=True),
    Message(role="user", content="what about the weather"),
)


async def test_openai_llm_streams_deltas_and_the_end_call_tool(autojump_clock: MockClock) -> None:
    body = sse(
        {"choices": [{"delta": {"role": "assistant"}}]},
        {"choices": [{"delta": {"content": "Sunny"}}]},
        {"choices": [{"delta": {"content": " today."}}]},
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "function": {"name": "end_call", "arguments": ""}}
                        ]
                    }
                }
            ]
        },
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]},
    )
    # Split mid-line: SSE parsing must not depend on chunk boundaries.
    transport, seen = recorder(
        lambda r: httpx.Response(200, content=chunks(body[:37], body[37:120], body[120:]))
    )
    llm = OpenAILLM("gpt-test", transport=transport, temperature=0.3)
    async with llm.session() as session:
        events = await collect(session.respond(CONVERSATION, system_prompt="Be brief."))
    assert events == ["Sunny", " today.", EndCall("end_call tool")]
    (request,) = seen
    assert request.url == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    sent = json.loads(request.content)
    assert sent["model"] == "gpt-test" and sent["stream"] is True and sent["temperature"] == 0.3
    assert sent["tools"][0]["function"]["name"] == "end_call"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": "Hello! Press a key."},
        {"role": "user", "content": "[The caller pressed the key 1]"},
        {"role": "user", "content": "what about the weather"},
    ]


async def test_openai_llm_local_server_needs_no_key(
    autojump_clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    transport, seen = recorder(
        lambda r: httpx.Response(200, content=sse({"choices": [{"delta": {"content": "hi"}}]}))
    )
    llm = OpenAILLM(
        "local", base_url="http://127.0.0.1:8080/v1/", end_call_tool=False, transport=transport
    )
    async with llm.session() as session:
        assert await collect(session.respond([], system_prompt="")) == ["hi"]
    assert seen[0].url == "http://127.0.0.1:8080/v1/chat/completions"
    assert "authorization" not in seen[0].headers
    assert "tools" not in json.loads(seen[0].content)


@pytest.mark.parametrize("status", [401, 429, 500])
async def test_openai_llm_http_error_is_a_provider_error_without_the_key(
    autojump_clock: MockClock, status: int
) -> None:
    echo = json.dumps({"error": {"message": f"bad key {KEY}"}})
    transport, _ = recorder(lambda r: httpx.Response(status, content=echo.encode()))
    async with OpenAILLM(transport=transport).session() as session:
        with pytest.raises(ProviderError) as caught:
            await collect(session.respond([], system_prompt="x"))
    assert caught.value.status_code == status
    assert f"HTTP {status}" in str(caught.value)
    assert KEY not in str(caught.value) and "***" in str(caught.value)


async def test_openai_llm_broken_stream_and_bad_json(autojump_clock: MockClock) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset")

    async with OpenAILLM(transport=httpx.MockTransport(broken)).session() as session:
        with pytest.raises(ProviderError, match="ReadError"):
            await collect(session.respond([], system_prompt="x"))
    transport, _ = recorder(lambda r: httpx.Response(200, content=b"data: {not json\n\n"))
    async with OpenAILLM(transport=transport).session() as session:
        with pytest.raises(ProviderError, match="malformed"):
            await collect(session.respond([], system_prompt="x"))


def test_keys_come_from_the_environment_and_stay_out_of_reprs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for provider in (OpenAILLM(), OpenAISTT(), OpenAITTS(), ElevenLabsTTS()):
        assert KEY not in repr(provider)
        assert KEY not in str(vars(provider).get("__repr__", ""))
    for variable, make in [
        ("OPENAI_API_KEY", OpenAILLM),
        ("OPENAI_API_KEY", OpenAISTT),
        ("OPENAI_API_KEY", OpenAITTS),
        ("ELEVENLABS_API_KEY", ElevenLabsTTS),
    ]:
        monkeypatch.delenv(variable, raising=False)
        with pytest.raises(ConfigurationError, match=variable):
            make()
    assert KEY not in repr(OpenAILLM(api_key=KEY))


async def test_openai_stt_posts_the_utterance_as_wav(autojump_clock: MockClock) -> None:
    transport, seen = recorder(lambda r: httpx.Response(200, json={"text": " hello there "}))
    stt = OpenAISTT(language="en", transport=transport)
    pcm = (b"\x10\x00\xf0\xff" * 1600, b"\x01\x00" * 320)
    async with stt.session() as session:
        assert await session.transcribe(chunks(*pcm)) == "hello there"
        assert await session.transcribe(chunks()) == ""  # nothing said: no request
    (request,) = seen
    assert request.url == "https://api.openai.com/v1/audio/transcriptions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.content
    assert b'name="model"\r\n\r\ngpt-4o-mini-transcribe' in body
    assert b'name="language"\r\n\r\nen' in body
    wav_start = body.index(b"RIFF")
    with wave.open(io.BytesIO(body[wav_start:])) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.readframes(wav.getnframes()) == b"".join(pcm)


async def test_openai_stt_error(autojump_clock: MockClock) -> None:
    transport, _ = recorder(lambda r: httpx.Response(503, text="overloaded"))
    async with OpenAISTT(transport=transport).session() as session:
        with pytest.raises(ProviderError, match="HTTP 503: overloaded"):
            await session.transcribe(chunks(b"\x00\x00" * 10))


async def test_elevenlabs_streams_pcm(autojump_clock: MockClock) -> None:
    audio = [b"\x01\x02" * 100, b"\x03", b"\x04" + b"\x05\x06" * 50]
    transport, seen = recorder(lambda r: httpx.Response(200, content=chunks(*audio)))
    tts = ElevenLabsTTS("voice123", sample_rate=16000, transport=transport)
    assert tts.sample_rate == 16000
    async with tts.session() as session:
        got = await collect(session.synthesize("Hello there."))
    assert b"".join(got) == b"".join(audio)  # type: ignore[arg-type]
    (request,) = seen
    assert request.url.path == "/v1/text-to-speech/voice123/stream"
    assert request.url.params["output_format"] == "pcm_16000"
    assert request.headers["xi-api-key"] == KEY
    assert json.loads(request.content) == {"text": "Hello there.", "model_id": "eleven_flash_v2_5"}
    with pytest.raises(ConfigurationError):
        ElevenLabsTTS(sample_rate=12345)


async def test_openai_tts_asks_for_24k_pcm(autojump_clock: MockClock) -> None:
    transport, seen = recorder(lambda r: httpx.Response(200, content=chunks(b"\x00\x01" * 240)))
    tts = OpenAITTS(voice="nova", instructions="Cheerful.", transport=transport)
    assert tts.sample_rate == 24000
    async with tts.session() as session:
        assert len(b"".join(await collect(session.synthesize("Hi.")))) == 480  # type: ignore[arg-type]
    body = json.loads(seen[0].content)
    assert body == {
        "model": "gpt-4o-mini-tts",
        "voice": "nova",
        "input": "Hi.",
        "response_format": "pcm",
        "instructions": "Cheerful.",
    }
    assert seen[0].url == "https://api.openai.com/v1/audio/speech"


async def test_tts_error_is_a_provider_error(autojump_clock: MockClock) -> None:
    transport, _ = recorder(lambda r: httpx.Response(401, text=f"invalid key {KEY}"))
    async with ElevenLabsTTS(transport=transport).session() as session:
        with pytest.raises(ProviderError) as caught:
            await collect(session.synthesize("x"))
    assert caught.value.status_code == 401 and KEY not in str(caught.value)
