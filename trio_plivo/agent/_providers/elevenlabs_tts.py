"""ElevenLabs text-to-speech, streamed as raw PCM (``output_format=pcm_<rate>``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ..._exceptions import ConfigurationError
from ._http import api_key_from
from ._tts_http import StreamingHttpTTS

__all__ = ["ElevenLabsTTS"]

_RATES = (8000, 16000, 22050, 24000, 44100)


class ElevenLabsTTS(StreamingHttpTTS):
    """``POST /v1/text-to-speech/{voice_id}/stream`` (the key from ``ELEVENLABS_API_KEY``).

    ``sample_rate`` picks the PCM output format; 16000 is a good match for phone lines (the
    call converts it to the wire format either way).
    """

    name = "elevenlabs-tts"

    def __init__(
        self,
        voice_id: str = "21m00Tcm4TlvDq8ikWAM",
        *,
        model_id: str = "eleven_flash_v2_5",
        sample_rate: int = 16000,
        api_key: str | None = None,
        base_url: str = "https://api.elevenlabs.io",
        voice_settings: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if sample_rate not in _RATES:
            raise ConfigurationError(f"ElevenLabs streams PCM at {_RATES}, not {sample_rate}")
        key = api_key_from(api_key, "ELEVENLABS_API_KEY", self.name)
        super().__init__(
            base_url=base_url,
            headers={"xi-api-key": key},
            secret=key,
            timeout=timeout,
            transport=transport,
        )
        self.voice_id = voice_id
        self.model_id = model_id
        self.sample_rate = sample_rate
        self._voice_settings = dict(voice_settings) if voice_settings else None

    def request(self, text: str) -> tuple[str, Mapping[str, str], Mapping[str, Any]]:
        body: dict[str, Any] = {"text": text, "model_id": self.model_id}
        if self._voice_settings:
            body["voice_settings"] = self._voice_settings
        return (
            f"/v1/text-to-speech/{self.voice_id}/stream",
            {"output_format": f"pcm_{self.sample_rate}"},
            body,
        )
