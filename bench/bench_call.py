"""The call machinery alone, on a virtual clock: CPU per frame with no socket and no noise.

N calls run over in-memory transports under ``trio.testing.MockClock(autojump_threshold=0)``:
each caller sends a Plivo ``start`` and then one 20 ms µ-law ``media`` frame per 20 ms of
virtual time, and drains what the app sends back. The three call tasks (reader, paced sender,
mark tracker) and the app are the real ones; there is no socket, no WebSocket framing and no
load generator, so the figure is the machinery's own cost, deterministic in what it executes
(also under ``valgrind --tool=callgrind``, which counts instructions whatever else the machine
does). Two apps:

* ``echo`` -- the built-in echo: every frame in is played back (the reader -> app -> sender
  hop per frame; the sender mostly waits for audio);
* ``prompt`` -- plays one long prompt while the caller talks (the sender paces against the
  playout clock, a deadline wake-up per frame; the reader and the app's event loop still run).

``python -m bench call [--calls N] [--seconds S]`` prints µs of process CPU per caller frame
for each app. Compare two trees in one run with ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Awaitable, Callable, Sequence

import orjson
import trio
import trio.testing

from trio_plivo import Call, CallConfig, ConnectionClosed, serve_call
from trio_plivo.apps.echo import echo

_PAYLOAD = base64.b64encode(b"\xff" * 160).decode()


def _start(n: int) -> str:
    return orjson.dumps(
        {
            "event": "start",
            "sequenceNumber": 1,
            "start": {
                "callId": f"call-{n}",
                "streamId": f"stream-{n}",
                "accountId": "MA0000",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
            },
            "extra_headers": "",
        }
    ).decode()


def _media(n: int, seq: int) -> str:
    return orjson.dumps(
        {
            "event": "media",
            "sequenceNumber": seq,
            "streamId": f"stream-{n}",
            "media": {
                "track": "inbound",
                "timestamp": str(seq * 20),
                "chunk": seq,
                "payload": _PAYLOAD,
            },
            "extra_headers": "",
        }
    ).decode()


async def _prompt(call: Call) -> None:
    await call.play(b"\xff" * 8000 * 60)  # a minute of µ-law: the sender paces all run long
    async for _ in call:
        pass


class _BenchTransport:
    """The server's end of one call: frames come from the ticker's channel, what the call
    sends is only counted. The reader still blocks and wakes per frame (as on a socket),
    but the harness itself costs one ``send_nowait`` per frame, not a task of its own."""

    def __init__(self) -> None:
        self.inbox, self._receive = trio.open_memory_channel[str](64)
        self.sent = 0

    async def receive_message(self) -> str:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            raise ConnectionClosed("done", code=1000) from None

    async def send_messages(self, messages: Sequence[str | bytes]) -> None:
        await trio.lowlevel.checkpoint()
        self.sent += len(messages)

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        await trio.lowlevel.checkpoint()


async def _ticker(transports: list[_BenchTransport], frames: int) -> None:
    """One task plays every caller: a ``media`` frame to each call per 20 ms of virtual time."""
    for n, transport in enumerate(transports):
        transport.inbox.send_nowait(_start(n))
    media = [[_media(n, seq) for seq in range(2, 12)] for n in range(len(transports))]
    deadline = trio.current_time()
    for index in range(frames):
        for n, transport in enumerate(transports):
            transport.inbox.send_nowait(media[n][index % 10])
        deadline += 0.020
        await trio.sleep_until(deadline)
    for transport in transports:
        transport.inbox.close()


async def _run(app: Callable[[Call], Awaitable[None]], calls: int, frames: int) -> None:
    transports = [_BenchTransport() for _ in range(calls)]
    async with trio.open_nursery() as nursery:
        for transport in transports:
            nursery.start_soon(
                lambda t=transport: serve_call(t, app, config=CallConfig(), handler_grace=0.1)
            )
        nursery.start_soon(_ticker, transports, frames)


APPS: dict[str, Callable[[Call], Awaitable[None]]] = {"echo": echo, "prompt": _prompt}


def measure(app: str, calls: int, seconds: float) -> float:
    """µs of process CPU per caller frame for ``calls`` calls of ``seconds`` virtual time."""
    frames = round(seconds / 0.020)
    start = time.process_time()
    trio.run(_run, APPS[app], calls, frames, clock=trio.testing.MockClock(autojump_threshold=0))
    return (time.process_time() - start) * 1e6 / (calls * frames)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench call")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--app", choices=sorted(APPS), action="append")
    args = parser.parse_args(argv)
    for app in args.app or sorted(APPS):
        cost = measure(app, args.calls, args.seconds)
        print(f"call machinery, {app:6s}: {cost:6.1f} µs CPU per caller frame ({args.calls} calls)")


if __name__ == "__main__":
    main()
