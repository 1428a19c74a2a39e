"""A DTMF menu: play a prompt, wait until it has really been heard, act on the key pressed.

Prompts are prepared once at start-up (tones here, so the example needs no TTS or files;
use ``call.play("prompt.wav")`` for recordings). Pressing a key while the menu plays
interrupts it (barge-in): the prompt's mark resolves as CLEARED with how much was heard.

Run:  python examples/dtmf_menu.py [PORT]
Try:  trio-plivo simulate ws://127.0.0.1:8000/stream --dtmf 1@0.5 2@3 --duration 6
"""

from __future__ import annotations

import logging
import sys

import numpy as np
import trio

from trio_plivo import Call, serve
from trio_plivo.protocol import Dtmf

log = logging.getLogger("menu")
RATE = 16000


def tone(hz: float, seconds: float) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (6000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


MENU = tone(440, 1.0) + tone(0, 0.2) + tone(660, 1.0)  # "press 1 for sales, 2 for support"
ANSWERS = {"1": tone(880, 0.6), "2": tone(330, 0.6)}
GOODBYE = tone(520, 0.4)


async def menu(call: Call) -> None:
    await call.play(MENU, sample_rate=RATE)
    prompt = await call.mark("menu")
    async for event in call:
        if not isinstance(event, Dtmf):
            continue
        if not prompt.done:
            await call.clear()  # barge-in: stop the menu at once
        heard = await prompt.wait()
        log.info(
            "menu %s after %.0f of %.0f ms", heard.status.value, heard.played_ms, heard.queued_ms
        )
        answer = ANSWERS.get(event.digit)
        if answer is None:
            await call.play(GOODBYE, sample_rate=RATE)
            await call.wait_played("goodbye")  # the caller hears all of it before we hang up
            await call.hangup()
            return
        await call.play(answer, sample_rate=RATE)
        prompt = await call.mark(f"answer-{event.digit}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    trio.run(serve, menu, "127.0.0.1", port)
