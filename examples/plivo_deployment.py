"""A complete Plivo deployment in one process on one port.

What it serves (all on ``HOST:PORT``, default ``0.0.0.0:8000``):

* ``POST /answer``  -- Plivo's answer URL: ``<Stream>`` XML pointing back at ``/stream``;
* ``/stream``       -- the media WebSocket (the signed upgrade is checked before anything runs);
* ``POST /status``  -- stream status callbacks, logged by a subscriber task;
* ``GET /healthz``  -- for the load balancer.

Each call hears a greeting (the bundled demo recording; swap in your TTS), and the app waits
until Plivo confirms it was played in full (a checkpoint). Pressing ``#`` plays a short
goodbye, waits for it too, then hangs the phone call up over Plivo's REST API.

Environment:

* ``PLIVO_AUTH_ID``, ``PLIVO_AUTH_TOKEN`` -- required: REST hang-up and signature checks
  (``/answer``, ``/status`` and the WebSocket upgrade all require Plivo's signature);
* ``PUBLIC_URL`` -- optional, the public stream URL (``wss://bot.example.com/stream``); needed
  when a proxy rewrites the host or path. Without it, URLs are built from each request's
  ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` (or ``Host``);
* ``HOST``, ``PORT`` -- where to listen.

Deploy: put a TLS-terminating proxy (Caddy, nginx, a tunnel) in front that forwards
``https://bot.example.com`` to this port, passes WebSocket upgrades, and sets
``X-Forwarded-Proto: https`` and ``X-Forwarded-Host``. In the Plivo console, set the
application's Answer URL to ``https://bot.example.com/answer`` (method POST).

Try it without a phone (the simulator signs like Plivo when it has the token):

    PLIVO_AUTH_ID=MAXXXXXXXXXXXXXXXXXX PLIVO_AUTH_TOKEN=dev-token python examples/plivo_deployment.py
    PLIVO_AUTH_TOKEN=dev-token trio-plivo simulate ws://127.0.0.1:8000/stream --dtmf '#@4' --duration 8

(with made-up credentials the REST hang-up fails and is logged; the stream still closes).
"""

from __future__ import annotations

import logging
import os
import signal

import numpy as np
import trio

from trio_plivo import L16_16K, Call, CallConfig
from trio_plivo.audio import WavAudio, demo_caller_audio
from trio_plivo.call import CallHandler
from trio_plivo.protocol import Dtmf
from trio_plivo.rest import PlivoRestClient
from trio_plivo.server import StreamServer
from trio_plivo.signatures import SignatureValidator
from trio_plivo.web import PlivoFront

log = logging.getLogger("deployment")


def goodbye_tone(rate: int = 8000, seconds: float = 0.4) -> bytes:
    """A short 520 Hz beep (PCM16), so the example needs no TTS."""
    t = np.arange(int(rate * seconds)) / rate
    return (6000 * np.sin(2 * np.pi * 520 * t)).astype("<i2").tobytes()


def make_app(greeting: WavAudio) -> CallHandler:
    """The per-call logic: greet (confirmed heard), then hang up on ``#``."""

    async def app(call: Call) -> None:
        log.info("call %s: greeting (%s)", call.call_id, call.media_format)
        await call.play(greeting.pcm, sample_rate=greeting.sample_rate)
        heard = await call.wait_played("greeting")  # Plivo's checkpoint: played, not just sent
        log.info(
            "call %s: greeting %s (%.0f ms)", call.call_id, heard.status.value, heard.played_ms
        )
        async for event in call:
            if isinstance(event, Dtmf) and event.digit == "#":
                await call.play(goodbye_tone(), sample_rate=8000)
                await call.wait_played("goodbye")  # never cut the goodbye short
                await call.hangup()  # the phone call, over REST (CallConfig.hangup_client)
                return

    return app


def build_front(
    *,
    auth_token: str,
    config: CallConfig,
    public_url: str | None = None,
    greeting: WavAudio | None = None,
) -> PlivoFront:
    """The whole app: stream server (signed upgrades; ``config.hangup_client`` hangs up)
    behind the HTTP front."""
    server = StreamServer(
        make_app(greeting if greeting is not None else demo_caller_audio()),
        config=config,
        signature_validator=SignatureValidator(auth_token, public_url=public_url),
    )
    return PlivoFront(server, content_type=L16_16K, public_url=public_url)


async def log_status(front: PlivoFront) -> None:
    """Plivo's view of each stream (started, stopped, dropped, degraded)."""
    with front.status_events() as events:
        async for event in events:
            level = logging.WARNING if event.is_problem else logging.INFO
            log.log(level, "stream %s: %s", event.stream_id, event.event)


async def shutdown_on_signal(front: PlivoFront) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            front.shutdown()  # stop accepting; active calls get their grace period
            return


async def main() -> None:
    auth_token = os.environ.get("PLIVO_AUTH_TOKEN", "")
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8000"))
    async with PlivoRestClient() as plivo:  # PLIVO_AUTH_ID / PLIVO_AUTH_TOKEN
        front = build_front(
            auth_token=auth_token,
            config=CallConfig(hangup_client=plivo),  # call.hangup() goes over REST
            public_url=os.environ.get("PUBLIC_URL"),
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(front.serve, host, port)
            log.info("answer URL http://%s:%d/answer, stream /stream", host, front.port)
            nursery.start_soon(log_status, front)
            nursery.start_soon(shutdown_on_signal, front)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    trio.run(main)
