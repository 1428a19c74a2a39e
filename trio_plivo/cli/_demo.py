"""``trio-plivo demo``: the echo app and one simulated call in one process."""

from __future__ import annotations

import argparse
import sys

import trio

from ..apps import load_app
from ..server import StreamServer
from ..testing import CallerAudio, CallReport, FakePlivo
from ._serve import shutdown_on_signal, talk_url
from ._simulate import _FORMATS, _print_report


async def _demo(args: argparse.Namespace) -> CallReport:
    server = StreamServer(load_app(args.app))
    if args.app == "agent":
        # Key 1 cuts the greeting (barge-in) and gets an answer; 9 gets the goodbye, heard in
        # full, and then the agent hangs up.
        fake = FakePlivo(format=_FORMATS[args.format], duration=20, dtmf=[("1", 4.0), ("9", 12.0)])
    else:
        fake = FakePlivo(
            format=_FORMATS[args.format],
            audio=CallerAudio.demo() + CallerAudio.silence(1.0),
            dtmf=[("5", 1.0), ("*", 2.5)],
        )
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, "127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}{server.path}"
        print(f"{args.app} server listening on {url}; placing a simulated call", file=sys.stderr)
        report = await fake.run_url(url)
        server.shutdown()
    return report


async def _demo_browser(args: argparse.Namespace) -> None:
    from ..web import PlivoFront  # the HTTP front only when asked for

    server = StreamServer(load_app("agent"))
    front = PlivoFront(server, browser=True)  # loopback only: no token needed
    async with trio.open_nursery() as nursery:
        await nursery.start(front.serve, "127.0.0.1", args.port)
        print(
            f"talk to the offline agent at {talk_url('127.0.0.1', server.port)} "
            "(allow the microphone; Ctrl-C stops)",
            flush=True,
        )
        nursery.start_soon(shutdown_on_signal, server)


def _run_demo(args: argparse.Namespace) -> int:
    if args.app == "browser":
        trio.run(_demo_browser, args)
        return 0
    return _print_report(trio.run(_demo, args), args)
