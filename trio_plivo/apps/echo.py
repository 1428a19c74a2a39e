"""The ``echo`` app: the caller hears themselves; DTMF drives marks and barge-in.

* every inbound media frame is queued back unchanged through the paced playback queue (so
  ``playAudio`` carries the stream's own contentType and sampleRate);
* ``*`` clears the playback (barge-in);
* any other digit ``d`` places a mark named ``dtmf-d`` and logs its outcome when it resolves.
"""

from __future__ import annotations

import logging

import trio

from ..call import Call, Mark
from ..protocol import Dtmf, Media

__all__ = ["echo"]

logger = logging.getLogger("trio_plivo.apps.echo")


async def echo(call: Call) -> None:
    """Echo the caller's audio back; ``*`` clears, other digits place marks."""
    async with trio.open_nursery() as nursery:
        async for event in call:
            if isinstance(event, Media):
                if event.track == "inbound":
                    await call.play(event.payload)
            elif isinstance(event, Dtmf):
                if event.digit == "*":
                    await call.clear()
                    logger.info("call %s: cleared playback", call.call_id)
                else:
                    mark = await call.mark(_unique_name(call, f"dtmf-{event.digit}"))
                    nursery.start_soon(_log_outcome, call, mark)


def _unique_name(call: Call, name: str) -> str:
    # The same key pressed again before its mark resolved: keep the documented name first.
    pending = call.pending_mark_names
    if name not in pending:
        return name
    n = 2
    while f"{name}-{n}" in pending:
        n += 1
    return f"{name}-{n}"


async def _log_outcome(call: Call, mark: Mark) -> None:
    result = await mark.wait()
    logger.info(
        "call %s: mark %s %s (%.0f of %.0f ms heard)",
        call.call_id,
        result.name,
        result.status.value,
        result.played_ms,
        result.queued_ms,
    )
