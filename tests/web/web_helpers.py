"""Loopback helpers for the one-port front: run it, send raw HTTP, read the answer."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import attrs
import h11
import trio

from trio_plivo.web import PlivoFront

TOKEN = "MAtest-auth-token-do-not-log-7f3a"
FORM = {
    "CallUUID": "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10",
    "From": "14155550100",
    "To": "14155550199",
    "Event": "StartApp",
}


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def stream(self) -> ET.Element:
        """The ``<Stream>`` element of an XML answer."""
        root = ET.fromstring(self.body)
        assert root.tag == "Response"
        (stream,) = list(root)
        assert stream.tag == "Stream"
        return stream


@asynccontextmanager
async def running(front: PlivoFront) -> AsyncIterator[PlivoFront]:
    async with trio.open_nursery() as nursery:
        await nursery.start(front.serve, "127.0.0.1", 0)
        yield front
        front.shutdown()


async def send_raw(port: int, data: bytes, *, method: str = "GET") -> Answer:
    """Send ``data`` on a fresh connection; parse the answer with h11 (client role).
    ``method`` is the request's, which tells h11 whether a body follows (not for HEAD)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(data)
        conn = h11.Connection(h11.CLIENT)
        # The client side must have "sent" a request for h11 to parse a response.
        conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        conn.send(h11.EndOfMessage())
        response: h11.Response | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
                continue
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"unexpected {event!r}")
    assert response is not None
    headers = {k.decode().lower(): v.decode() for k, v in response.headers}
    return Answer(response.status_code, headers, body)


async def request(
    port: int,
    method: str,
    target: str,
    *,
    headers: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    host: str | None = None,
) -> Answer:
    """One HTTP/1.1 request; ``form`` is sent url-encoded (POST)."""
    body = urlencode(form).encode() if form is not None else b""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if form is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    return await send_raw(port, raw, method=method)
