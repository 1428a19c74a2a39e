"""Minimal WebSocket echo servers: the baselines the real server is measured against.

    python -m bench.ws_baselines trio-websocket --port 8765
    python -m bench.ws_baselines sansio --port 8765 [--reply play]

``trio-websocket`` is bare Trio + trio-websocket (what an app would write without this
library); ``sansio`` is the same echo on :mod:`trio_plivo.ws` with one task per connection;
``sansio-3task`` is that echo with the library's *shape* and none of its work: a reader, an
app and a sender task per connection joined by two bounded hand-offs (what the three tasks
cost before any parsing, pacing or bookkeeping: the floor of the design). ``--handoff
direct`` (default) wakes the next task with a plain reschedule, as the call does;
``--handoff channel`` uses Trio memory channels.
``--reply echo`` (default) sends every message back unchanged; ``--reply play`` answers each
``media`` message with a ``playAudio`` carrying the same payload (what a voice bot sends).
Prints ``listening on ws://127.0.0.1:PORT/`` once ready (``--port 0`` picks a free port).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import deque
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


class DirectHandoff:
    """A bounded FIFO from one task to another that wakes a waiting taker with a direct
    ``reschedule``: the cheapest hand-off Trio allows (the call's inbound queue and its sender's
    alarm work this way). ``put`` never waits: it returns False when full."""

    def __init__(self, size: int) -> None:
        self._items: deque[str | bytes] = deque()
        self._size = size
        self._taker: trio.lowlevel.Task | None = None
        self._closed = False

    def put(self, item: str | bytes) -> bool:
        if len(self._items) >= self._size:
            return False
        self._items.append(item)
        self._wake()
        return True

    def close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        if self._taker is not None:
            task, self._taker = self._taker, None
            trio.lowlevel.reschedule(task)

    async def take(self) -> str | bytes:
        """The next item (no schedule point when one is there); EndOfChannel once closed."""
        items = self._items
        while not items:
            if self._closed:
                raise trio.EndOfChannel
            self._taker = trio.lowlevel.current_task()

            def abort(_: object) -> trio.lowlevel.Abort:
                self._taker = None
                return trio.lowlevel.Abort.SUCCEEDED

            await trio.lowlevel.wait_task_rescheduled(abort)
        return items.popleft()


class ChannelHandoff:
    """The same over a Trio memory channel (its ``receive`` raises and catches WouldBlock
    whenever it finds the channel empty)."""

    def __init__(self, size: int) -> None:
        self._send, self._receive = trio.open_memory_channel[str | bytes](size)

    def put(self, item: str | bytes) -> bool:
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            return False
        return True

    def close(self) -> None:
        self._send.close()

    async def take(self) -> str | bytes:
        return await self._receive.receive()


HANDOFFS = {"direct": DirectHandoff, "channel": ChannelHandoff}


async def serve_sansio_three_tasks(
    port: int, reply: Reply, handoff: type[DirectHandoff | ChannelHandoff] = DirectHandoff
) -> None:
    from trio_plivo import ConnectionClosed
    from trio_plivo.ws import accept_websocket

    async def handler(stream: trio.SocketStream) -> None:
        ws = await accept_websocket(stream)
        if ws is None:
            return
        # The call's hand-offs: the reader never waits (a slow app loses audio: the generator
        # counts it), the app queues without a schedule point, the sender waits for work.
        to_app, to_sender = handoff(50), handoff(50)

        async def reader() -> None:
            try:
                while True:
                    to_app.put(await ws.receive_message())
            except ConnectionClosed:
                to_app.close()

        async def app() -> None:
            with contextlib.suppress(trio.EndOfChannel):
                while True:
                    answer = reply(await to_app.take())
                    if answer is not None:
                        to_sender.put(answer)
            to_sender.close()

        async def sender() -> None:
            with contextlib.suppress(trio.EndOfChannel, ConnectionClosed):
                while True:
                    await ws.send_message(await to_sender.take())

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
    parser.add_argument(
        "--handoff",
        choices=sorted(HANDOFFS),
        default="direct",
        help="sansio-3task: how the tasks hand messages on",
    )
    args = parser.parse_args(argv)
    server = SERVERS[args.server]
    if args.server == "sansio-3task":
        server = partial(serve_sansio_three_tasks, handoff=HANDOFFS[args.handoff])
    try:
        trio.run(server, args.port, REPLIES[args.reply])
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
