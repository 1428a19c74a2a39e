"""Echo: the caller hears themselves. ``*`` clears playback, other digits place marks.

Run:  python examples/echo.py [PORT]
Try:  trio-plivo simulate ws://127.0.0.1:8000/stream --dtmf 5@1 *@2
"""

from __future__ import annotations

import logging
import sys

import trio

from trio_plivo import Call, serve
from trio_plivo.protocol import Dtmf, Media

log = logging.getLogger("echo")


async def echo(call: Call) -> None:
    async with trio.open_nursery() as nursery:
        async for event in call:
            if isinstance(event, Media):
                await call.play(event.payload)  # already in the stream's format
            elif isinstance(event, Dtmf) and event.digit == "*":
                await call.clear()
            elif isinstance(event, Dtmf):
                mark = await call.mark(f"dtmf-{event.digit}-{trio.current_time():.3f}")
                nursery.start_soon(report, mark)


async def report(mark) -> None:
    result = await mark.wait()
    log.info(
        "%s: %s, %.0f of %.0f ms heard",
        result.name,
        result.status.value,
        result.played_ms,
        result.queued_ms,
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    trio.run(serve, echo, "127.0.0.1", port)
