"""``trio-plivo loadtest URL``: many real-time simulated callers against a server."""

from __future__ import annotations

import argparse
import json
import sys

import trio

from .._exceptions import ConfigurationError


def _run_loadtest(args: argparse.Namespace) -> int:
    from ..testing._loadtest import run_loadtest
    from ..testing._loadtest._plot import write_plot

    if args.calls < 1 or args.processes < 1 or args.duration <= 0 or args.ramp < 0:
        raise ConfigurationError("--calls and --processes must be >= 1, --duration > 0")
    if args.barge_in_at is not None and args.barge_in_at <= 0:
        raise ConfigurationError("--barge-in-at must be > 0 seconds (--no-barge-in turns it off)")
    if args.plot:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise ConfigurationError("--plot needs matplotlib: pip install 'trio-plivo[plot]'")
    result = run_loadtest(
        args.url,
        args.calls,
        duration=args.duration,
        ramp=args.ramp,
        processes=args.processes,
        progress_stream=sys.stderr,
        provider=args.provider,
        barge_in_at=None if args.no_barge_in else args.barge_in_at,
    )
    if args.plot:
        write_plot(result, args.plot)
        if not args.json:
            print(f"plot written to {args.plot}", file=sys.stderr)
    if args.json:
        data = result.to_dict()
        data["plot"] = args.plot  # the PNG written, or null
        print(json.dumps(data))
    else:
        print(result.format_summary())
    if result.report.connected == 0:
        # Not one call got through: open one WebSocket to say why, the way simulate does.
        trio.run(_open_once, args.url)
    return 0 if result.report.calls_ok == args.calls and result.generator_ok else 1


async def _open_once(url: str) -> None:
    from ..ws import connect_websocket

    ws = await connect_websocket(url)
    await ws.aclose()
