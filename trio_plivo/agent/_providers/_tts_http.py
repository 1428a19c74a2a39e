"""The two HTTP streaming TTS services: POST the text, stream raw PCM16 back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ._http import MAPPED, HttpService, closing, raise_for_status

__all__ = ["StreamingHttpTTS"]


class StreamingHttpTTS(HttpService):
    """Base: subclasses say where to POST what (:meth:`request`)."""

    sample_rate = 16000

    def request(self, text: str) -> tuple[str, Mapping[str, str], Mapping[str, Any]]:
        """``(path, query params, JSON body)`` for ``text``."""
        raise NotImplementedError

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_Session]:
        async with self.client() as client:
            yield _Session(self, client)


class _Session:
    def __init__(self, service: StreamingHttpTTS, client: httpx.AsyncClient) -> None:
        self._service = service
        self._client = client

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        service = self._service
        path, params, body = service.request(text)
        try:
            async with self._client.stream("POST", path, params=params, json=body) as response:
                await raise_for_status(service, response)
                async with closing(response.aiter_bytes()) as audio:
                    async for chunk in audio:
                        if chunk:
                            yield chunk
        except MAPPED as exc:
            raise service.failure(exc) from exc
