"""What the one-port front costs: WebSocket handshakes, /answer requests and media frames.

Three servers on loopback, in this process, each measured in alternating rounds (the client
runs in the same Trio loop, so absolute numbers include its cost; the *differences* are the
servers'):

* ``plain``: the stream server alone (WebSocket only), as before the front existed;
* ``front``: the same stream server behind :class:`trio_plivo.web.PlivoFront` (h11 reads the
  head, a ReplayStream hands the upgrade on);
* ``hypercorn``: Hypercorn's Trio worker with an equivalent ASGI app, if installed.

Measured:

1. handshakes/s: sequential WebSocket open + close (the front's extra cost is one h11 parse);
2. ``/answer`` requests/s: one request per connection, XML built per request (plain has no
   /answer; its nearest equivalent, a GET route answered before the upgrade, is shown);
3. inbound media frames/s on one stream: 160-byte µ-law ``media`` messages parsed by
   PlivoCodec -- full Call stack for plain/front, and, to compare transports without the Call
   layer, our WebSocket driver vs Hypercorn's ASGI ``websocket.receive`` dicts.

Run: ``python bench/bench_oneport.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import statistics
import time
from typing import Any

import trio

from trio_plivo.answers import Response, Stream
from trio_plivo.call import Call, CallConfig
from trio_plivo.protocol import Media, PlivoCodec
from trio_plivo.server import StreamServer
from trio_plivo.ws import HTTPResponse, WebSocket, accept_websocket, connect_websocket

SID = "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655"
START = json.dumps(
    {
        "event": "start",
        "sequenceNumber": 1,
        "start": {
            "callId": "bench",
            "streamId": SID,
            "accountId": "MA",
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
        },
    }
)
PAYLOAD = base64.b64encode(bytes(range(160))).decode()
FRAMES = 5000


def media(i: int) -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": i + 2,
            "streamId": SID,
            "media": {"track": "inbound", "timestamp": str(20 * i), "chunk": i, "payload": PAYLOAD},
        }
    )


MEDIA = [media(i) for i in range(FRAMES)]
DONE = json.dumps({"event": "checkpoint", "streamId": SID, "name": "done"})


# --- apps ------------------------------------------------------------------------------------


async def counting_app(call: Call) -> None:
    """Counts inbound media; a mark (checkpoint message) tells the client all arrived."""
    count = 0
    async for event in call:
        if isinstance(event, Media):
            count += 1
            if count == FRAMES:
                await call.mark("done")


def answer_xml(host: str) -> bytes:
    return (
        Response(
            Stream(
                f"ws://{host}/stream",
                bidirectional=True,
                keep_call_alive=True,
                content_type="audio/x-mulaw;rate=8000",
                status_callback_url=f"http://{host}/status",
            )
        )
        .to_xml()
        .encode()
    )


def plain_route(request: Any) -> HTTPResponse | None:
    # The plain server's nearest thing to /answer: a GET answered before the upgrade.
    if request.path == "/answer":
        host = request.headers.get("Host", "x")
        return HTTPResponse(200, answer_xml(host), content_type="application/xml")
    return None


async def raw_ws_server(task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Our WebSocket driver + PlivoCodec, no Call layer (transport comparison)."""

    async def handle(stream: trio.SocketStream) -> None:
        ws = await accept_websocket(stream)
        if ws is None:
            return
        codec, count = PlivoCodec(), 0
        try:
            while True:
                for event in codec.receive(await ws.receive_message()):
                    if isinstance(event, Media):
                        count += 1
                        if count == FRAMES:
                            await ws.send_message(DONE)
        except Exception:
            pass
        finally:
            await ws.aclose()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The same endpoints as ASGI: /answer, and a websocket that counts media frames."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        while (await receive()).get("more_body"):
            pass
        host = dict(scope["headers"]).get(b"host", b"x").decode()
        body = answer_xml(host)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/xml")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    codec, count = PlivoCodec(), 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        for event in codec.receive(message.get("text") or ""):
            if isinstance(event, Media):
                count += 1
                if count == FRAMES:
                    await send({"type": "websocket.send", "text": DONE})


# --- clients ---------------------------------------------------------------------------------


async def handshakes(url: str, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        ws = await connect_websocket(url)
        await ws.aclose()
    return n / (time.perf_counter() - start)


async def answers(port: int, n: int, *, post: bool = False) -> float:
    """``n`` requests for /answer, one connection each (as Plivo makes them)."""
    if post:
        form = b"CallUUID=abc&From=14155550100&To=14155550199"
        head = "POST /answer HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n"
        request = head.format(port, len(form)).encode() + form
    else:
        request = f"GET /answer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    start = time.perf_counter()
    for _ in range(n):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(request)
        reply = b""
        while chunk := await stream.receive_some(65536):
            reply += chunk
            if b"</Response>" in reply:
                break
        assert b"<Stream" in reply, reply[:200]
        await stream.aclose()
    return n / (time.perf_counter() - start)


async def media_rate(url: str, *, start_message: bool = True) -> float:
    ws: WebSocket = await connect_websocket(url)
    if start_message:
        await ws.send_message(START)
    begin = time.perf_counter()
    for message in MEDIA:
        await ws.send_message(message)
    while json.loads(await ws.receive_message()).get("name") != "done":
        pass
    rate = FRAMES / (time.perf_counter() - begin)
    await ws.aclose()
    return rate


# --- driver ----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


async def run(rounds: int) -> dict[str, dict[str, float]]:
    from trio_plivo.web import PlivoFront

    config = CallConfig(inbound_buffer_ms=20.0 * (FRAMES + 10))  # never drop in the bench
    results: dict[str, dict[str, list[float]]] = {}

    def record(server: str, metric: str, value: float) -> None:
        results.setdefault(server, {}).setdefault(metric, []).append(value)

    async with trio.open_nursery() as nursery:
        plain = StreamServer(counting_app, config=config, http_routes=[plain_route])
        await nursery.start(plain.serve, "127.0.0.1", 0)
        front = PlivoFront(StreamServer(counting_app, config=config))
        await nursery.start(front.serve, "127.0.0.1", 0)
        raw_port = await nursery.start(raw_ws_server)
        targets = {"plain": plain.port, "front": front.port}
        hyper_port = None
        try:
            from hypercorn.config import Config
            from hypercorn.trio import serve as hyper_serve

            hyper_config = Config()
            hyper_config.bind = ["127.0.0.1:0"]
            hyper_config.accesslog = None
            hyper_config.errorlog = None
            bound = await nursery.start(partial_serve(hyper_serve, asgi_app, hyper_config))
            hyper_port = int(bound[0].rsplit(":", 1)[1])
            targets["hypercorn"] = hyper_port
        except ImportError:
            print("(hypercorn not installed: skipping the ASGI comparison)")

        order = list(targets.items())
        for round_number in range(rounds):
            # Rotate who goes first each round, so warm-up and order effects even out.
            shift = round_number % len(order)
            for name, port in order[shift:] + order[:shift]:
                url = f"ws://127.0.0.1:{port}/stream"
                record(name, "handshakes/s", await handshakes(url, 300))
                record(name, "GET /answer req/s", await answers(port, 300))
                if name != "plain":  # the plain server's HTTP layer takes no bodies
                    record(name, "POST /answer req/s", await answers(port, 300, post=True))
                # hypercorn runs no Call layer: compare it with the raw driver below
                layer = "transport only" if name == "hypercorn" else "Call stack"
                record(name, f"media frames/s ({layer})", await media_rate(url))
            raw = f"ws://127.0.0.1:{raw_port}/stream"
            record("raw driver", "media frames/s (transport only)", await media_rate(raw))
        plain.shutdown()
        front.shutdown()
        nursery.cancel_scope.cancel()

    summary = {
        server: {m: median(v) for m, v in metrics.items()} for server, metrics in results.items()
    }
    print(f"median [min-max] of {rounds} alternating rounds (client in the same process)")
    for server, metrics in summary.items():
        for metric, value in metrics.items():
            low, high = min(results[server][metric]), max(results[server][metric])
            print(f"  {server:<11}{metric:<34}{value:>10.0f}  [{low:.0f}-{high:.0f}]")
    return summary


def partial_serve(serve: Any, app: Any, config: Any) -> Any:
    async def run_it(task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        await serve(app, config, task_status=task_status)

    return run_it


UPGRADE_HEAD = (
    b"GET /stream HTTP/1.1\r\nHost: bot.example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nX-Plivo-Signature-V3: c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl\r\n"
    b"X-Plivo-Signature-V3-Nonce: 12345678901234567890\r\nUser-Agent: Plivo\r\n\r\n"
)


async def front_prework_us(n: int = 2000, repeat: int = 7) -> dict[str, float]:
    """Per-upgrade work the front adds before the WebSocket layer runs, on memory streams
    (min of interleaved repeats, the stream-pair setup subtracted): routing on the request
    line (what the front does) vs. parsing the whole head with h11 first (the alternative)."""
    import trio.testing

    from trio_plivo.web import PlivoFront
    from trio_plivo.web._http import RequestReader, to_web_request

    front = PlivoFront(StreamServer(counting_app))

    async def setup() -> trio.abc.Stream:
        client, server = trio.testing.memory_stream_pair()
        await client.send_all(UPGRADE_HEAD)
        return server

    async def peek() -> None:
        assert await front._answer_or_pass(await setup()) is not None

    async def h11_first() -> None:
        reader = RequestReader(await setup())
        head = await reader.read_head()
        assert head is not None
        to_web_request(head)
        bytes(reader.raw)

    async def baseline() -> None:
        await setup()

    timings: dict[str, list[float]] = {"peek": [], "h11_first": [], "baseline": []}
    for _ in range(repeat):
        for name, fn in (("peek", peek), ("h11_first", h11_first), ("baseline", baseline)):
            start = time.perf_counter()
            for _ in range(n):
                await fn()
            timings[name].append((time.perf_counter() - start) / n * 1e6)
    base = min(timings["baseline"])
    return {
        "route on the request line (front)": min(timings["peek"]) - base,
        "h11 parse of the whole head first": min(timings["h11_first"]) - base,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    # Handshake-only connections close before "start"; the server says so at WARNING.
    logging.basicConfig(level=logging.ERROR)
    print("front work per WebSocket upgrade before the WebSocket layer (µs, memory streams)")
    for label, value in trio.run(front_prework_us).items():
        print(f"  {label:<40}{value:>8.1f}")
    trio.run(run, args.rounds)


if __name__ == "__main__":
    main()
