"""OpenAI text-to-speech: ``/audio/speech`` with ``response_format=pcm`` (24 kHz PCM16)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ._tts_http import StreamingHttpTTS
from .openai_llm import OPENAI_BASE_URL, OpenAICompatible

__all__ = ["OpenAITTS"]


class OpenAITTS(OpenAICompatible, StreamingHttpTTS):
    """Streams raw 24 kHz PCM16 as it is generated (the key from ``OPENAI_API_KEY``)."""

    name = "openai-tts"
    sample_rate = 24000

    def __init__(
        self,
        model: str = "gpt-4o-mini-tts",
        *,
        voice: str = "alloy",
        instructions: str | None = None,
        speed: float | None = None,
        api_key: str | None = None,
        base_url: str = OPENAI_BASE_URL,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout, transport=transport)
        self.model = model
        self.voice = voice
        self.instructions = instructions
        self.speed = speed

    def request(self, text: str) -> tuple[str, Mapping[str, str], Mapping[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "voice": self.voice,
            "input": text,
            "response_format": "pcm",
        }
        if self.instructions:
            body["instructions"] = self.instructions
        if self.speed is not None:
            body["speed"] = self.speed
        return "/audio/speech", {}, body
