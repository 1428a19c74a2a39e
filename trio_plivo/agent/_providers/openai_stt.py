"""OpenAI speech-to-text: one ``/audio/transcriptions`` request per finished utterance."""

from __future__ import annotations

import io
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager

import httpx

from ...audio import write_wav
from ._http import MAPPED, raise_for_status
from .openai_llm import OPENAI_BASE_URL, OpenAICompatible

__all__ = ["OpenAISTT"]


class OpenAISTT(OpenAICompatible):
    """Transcribes each utterance once the caller has finished it (REST, not streaming:
    the request goes out at the end of the turn, so its whole latency is on the turn)."""

    name = "openai-stt"
    sample_rate = 16000

    def __init__(
        self,
        model: str = "gpt-4o-mini-transcribe",
        *,
        language: str | None = None,
        prompt: str | None = None,
        api_key: str | None = None,
        base_url: str = OPENAI_BASE_URL,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout, transport=transport)
        self.model = model
        self.language = language
        self.prompt = prompt

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_Session]:
        async with self.client() as client:
            yield _Session(self, client)


class _Session:
    def __init__(self, service: OpenAISTT, client: httpx.AsyncClient) -> None:
        self._service = service
        self._client = client

    async def transcribe(self, audio: AsyncIterable[bytes]) -> str:
        service = self._service
        pcm = bytearray()
        async for chunk in audio:
            pcm += chunk
        if not pcm:
            return ""
        wav = io.BytesIO()
        write_wav(wav, bytes(pcm), sample_rate=service.sample_rate)
        data = {"model": service.model, "response_format": "json"}
        if service.language:
            data["language"] = service.language
        if service.prompt:
            data["prompt"] = service.prompt
        files = {"file": ("utterance.wav", wav.getvalue(), "audio/wav")}
        try:
            response = await self._client.post("/audio/transcriptions", data=data, files=files)
            await raise_for_status(service, response)
            return str(response.json()["text"]).strip()
        except MAPPED as exc:
            raise service.failure(exc) from exc
