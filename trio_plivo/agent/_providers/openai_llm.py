"""An OpenAI-compatible chat-completions LLM, streamed over SSE.

Works with OpenAI and with local OpenAI-compatible servers (``base_url=
"http://localhost:8000/v1"``: llama.cpp, vLLM, Ollama ...; no key needed there). The model
may call an ``end_call`` tool to end the call; the agent then waits for the goodbye to be
heard before hanging up.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx

from .._conversation import EndCall, LLMEvent, Message
from ._http import MAPPED, HttpService, api_key_from, closing, raise_for_status

__all__ = ["OpenAILLM"]

OPENAI_BASE_URL: Final = "https://api.openai.com/v1"


class OpenAICompatible(HttpService):
    """Base of the services that talk to OpenAI's API or a server that copies it.

    A local server needs no key; OpenAI itself does (checked when the service is made, not
    mid-call). The key goes only into the ``Authorization`` header.
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        key = (
            api_key_from(api_key, "OPENAI_API_KEY", self.name)
            if base_url.rstrip("/") == OPENAI_BASE_URL
            else api_key
        )
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        super().__init__(
            base_url=base_url, headers=headers, secret=key, timeout=timeout, transport=transport
        )


END_CALL_TOOL: Final[dict[str, Any]] = {
    "type": "function",
    "function": {
        "name": "end_call",
        "description": "End the phone call, after saying goodbye to the caller.",
        "parameters": {"type": "object", "properties": {}},
    },
}


def to_chat_messages(messages: Sequence[Message], system_prompt: str) -> list[dict[str, str]]:
    """The conversation in chat-completions form (key presses described in words; empty
    assistant messages -- nothing was heard -- left out)."""
    chat = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for message in messages:
        if message.role == "user":
            if message.dtmf:
                content = f"[The caller pressed the key {message.content}]"
            elif not message.transcribed:
                content = "[The caller said something that could not be transcribed]"
            else:
                content = message.content
            chat.append({"role": "user", "content": content})
        elif message.content:
            chat.append({"role": "assistant", "content": message.content})
    return chat


async def _sse_lines(response: httpx.Response) -> AsyncIterator[str]:
    """The body's lines. (Not ``aiter_lines``: closing it early leaves the generators it
    wraps to the garbage collector.)"""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    async with closing(response.aiter_bytes()) as body:
        async for chunk in body:
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                yield line.rstrip("\r")
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending.rstrip("\r")


class OpenAILLM(OpenAICompatible):
    """Chat completions with ``stream: true`` (the key from ``OPENAI_API_KEY``)."""

    name = "openai-llm"

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        api_key: str | None = None,
        base_url: str = OPENAI_BASE_URL,
        temperature: float | None = None,
        max_tokens: int | None = None,
        end_call_tool: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout, transport=transport)
        self.model = model
        self._options: dict[str, Any] = dict(extra_body or {})
        if temperature is not None:
            self._options["temperature"] = temperature
        if max_tokens is not None:
            self._options["max_tokens"] = max_tokens
        self._end_call_tool = end_call_tool

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_Session]:
        async with self.client() as client:
            yield _Session(self, client)

    def request_body(self, messages: Sequence[Message], system_prompt: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": to_chat_messages(messages, system_prompt),
            "stream": True,
            **self._options,
        }
        if self._end_call_tool:
            body["tools"] = [END_CALL_TOOL]
        return body


class _Session:
    def __init__(self, service: OpenAILLM, client: httpx.AsyncClient) -> None:
        self._service = service
        self._client = client

    async def respond(
        self, messages: Sequence[Message], *, system_prompt: str
    ) -> AsyncIterator[LLMEvent]:
        service = self._service
        body = service.request_body(messages, system_prompt)
        tools: dict[int, str] = {}
        done = False
        try:
            async with self._client.stream("POST", "/chat/completions", json=body) as response:
                await raise_for_status(service, response)
                async with closing(_sse_lines(response)) as lines:
                    async for line in lines:
                        data = line[5:].strip() if line.startswith("data:") else None
                        if not data:
                            continue  # comments, event names, keep-alives
                        if data == "[DONE]" or done:
                            # Read on to the end of the body (it ends right after): leaving
                            # early strands httpx's inner generators for the GC to finalise.
                            done = True
                            continue
                        chunk = json.loads(data)
                        if "error" in chunk:
                            raise service.error(f"stream error: {chunk['error']}")
                        for choice in chunk.get("choices") or ():
                            delta = choice.get("delta") or {}
                            if delta.get("content"):
                                yield str(delta["content"])
                            for call in delta.get("tool_calls") or ():
                                name = (call.get("function") or {}).get("name")
                                if name:
                                    tools[int(call.get("index", 0))] = str(name)
        except MAPPED as exc:
            raise service.failure(exc) from exc
        if "end_call" in tools.values():
            yield EndCall("end_call tool")
