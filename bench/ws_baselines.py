"""Minimal WebSocket echo servers: the baselines the real server is measured against.

    python -m bench.ws_baselines trio-websocket --port 8765
    python -m bench.ws_baselines sansio --port 8765 [--reply play]

``trio-websocket`` is bare Trio + trio-websocket (what an app would write without this
library); ``sansio`` is the same echo on :mod:`trio_plivo.ws` with one task per connection;
``sansio-3task`` is that echo with the library's *shape* and none of its work: a reader, an
app and a sender task per connection joined by two bounded memory channels (what the three
tasks cost before any parsing, pacing or bookkeeping: the floor of the design).
``--reply echo`` (default) sends every message back unchanged; ``--reply play`` answers each
``media`` message with a ``playAudio`` carrying the same payload (what a voice bot sends).
Prints ``listening on ws://127.0.0.1:PORT/`` once ready (``--port 0`` picks a free port).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from functools import partial

import orjson
import trio

Reply = Callable[[str | bytes], str | bytes | None]


def echo_reply(message: str | bytes) -> str | bytes | None:
    return message


def play_reply(message: str | bytes) -> str | bytes | None:
    event = orjson.loads(message)
    if event.get("event") != "media":
        return None
    answer = {
        "event": "playAudio",
        "media": {
            "contentType": "audio/x-mulaw",
            "sampleRate": 8000,
            "payload": event["media"]["payload"],
        },
    }
    return orjson.dumps(answer).decode()


REPLIES: dict[str, Reply] = {"echo": echo_reply, "play": play_reply}


def announce(port: int) -> None:
    print(f"listening on ws://127.0.0.1:{port}/", flush=True)


async def serve_trio_websocket(port: int, reply: Reply) -> None:
    import trio_websocket

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        conn = await request.accept()
        try:
            while True:
                answer = reply(await conn.get_message())
                if answer is not None:
                    await conn.send_message(answer)
        except trio_websocket.ConnectionClosed:
            pass

    async with trio.open_nursery() as nursery:
        # A handler nursery keeps one failing connection from taking the server down.
        server = await nursery.start(
            partial(
                trio_websocket.serve_websocket,
                handler,
                "127.0.0.1",
                port,
                ssl_context=None,
                handler_nursery=nursery,
                max_message_size=1 << 20,
            )
        )
        announce(server.port)


async def serve_sansio(port: int, reply: Reply) -> None:
    from trio_plivo import ConnectionClosed
    from trio_plivo.ws import accept_websocket

    async def handler(stream: trio.SocketStream) -> None:
        ws = await accept_websocket(stream)
        if ws is None:
            return
        try:
            while True:
                answer = reply(await ws.receive_message())
                if answer is not None:
                    await ws.send_message(answer)
        except ConnectionClosed:
            pass
        finally:
            await ws.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, port, host="127.0.0.1"))
        announce(listeners[0].socket.getsockname()[1])


async def serve_sansio_three_tasks(port: int, reply: Reply) -> None:
    from trio_plivo import ConnectionClosed
    from trio_plivo.ws import accept_websocket

    async def handler(stream: trio.SocketStream) -> None:
        ws = await accept_websocket(stream)
        if ws is None:
            return
        # The same hand-offs the call makes: the reader never waits (send_nowait), the app
        # queues without a schedule point while there is room, the sender waits for work.
        to_app, app_inbox = trio.open_memory_channel[str | bytes](50)
        to_sender, sender_inbox = trio.open_memory_channel[str | bytes](50)

        async def reader() -> None:
            try:
                while True:
                    message = await ws.receive_message()
                    with contextlib.suppress(trio.WouldBlock):  # a slow app loses audio
                        to_app.send_nowait(message)
            except ConnectionClosed:
                to_app.close()

        async def app() -> None:
            async for message in app_inbox:
                answer = reply(message)
                if answer is not None:
                    await trio.lowlevel.checkpoint_if_cancelled()
                    try:
                        to_sender.send_nowait(answer)
                    except trio.WouldBlock:
                        await to_sender.send(answer)
            to_sender.close()

        async def sender() -> None:
            try:
                async for message in sender_inbox:
                    await ws.send_message(message)
            except ConnectionClosed:
                pass

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                nursery.start_soon(app)
                nursery.start_soon(sender)
        finally:
            await ws.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, port, host="127.0.0.1"))
        announce(listeners[0].socket.getsockname()[1])


SERVERS = {
    "trio-websocket": serve_trio_websocket,
    "sansio": serve_sansio,
    "sansio-3task": serve_sansio_three_tasks,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_baselines", description=__doc__)
    parser.add_argument("server", choices=sorted(SERVERS))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--reply", choices=sorted(REPLIES), default="echo")
    args = parser.parse_args(argv)
    try:
        trio.run(SERVERS[args.server], args.port, REPLIES[args.reply])
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
