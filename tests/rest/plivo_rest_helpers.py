"""Shared by the PlivoRestClient tests: a recording MockTransport and canned replies."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import trio

from trio_plivo.rest import PlivoRestClient

AUTH_ID = "MAXXXXXXXXXXXXXXXXXX"
TOKEN = "sup3r-s3cret-t0ken-value"
CALL = "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10"
STREAM = "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655"
ACCOUNT = f"https://api.plivo.com/v1/Account/{AUTH_ID}"
EXPECTED_AUTH = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()


class Recorder:
    """A MockTransport whose responses come from a queue; records every request and when."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(trio.current_time())
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        return item

    def client(self, **kwargs: Any) -> PlivoRestClient:
        return PlivoRestClient(AUTH_ID, TOKEN, transport=self.transport, **kwargs)

    @property
    def only(self) -> httpx.Request:
        (request,) = self.requests
        return request


def reply(status: int, body: object = None, *, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    if body is None:
        return httpx.Response(status)
    return httpx.Response(status, json=body)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_common_shape(request: httpx.Request, method: str, url: str) -> None:
    assert request.method == method
    assert str(request.url) == url
    assert request.url.path.endswith("/")
    assert request.headers["authorization"] == EXPECTED_AUTH
