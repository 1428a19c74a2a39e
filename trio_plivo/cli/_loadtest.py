"""``trio-plivo loadtest URL``: many real-time simulated callers against a server."""

from __future__ import annotations

import argparse
import json
import sys

from .._exceptions import ConfigurationError
from ._options import add_simulated_provider


def _add_loadtest(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "loadtest",
        help="N concurrent simulated provider callers (Plivo by default) against a running server",
        description="Open N simulated calls to URL, each streaming real-time audio in the "
        "provider's default format and packet size (Plivo: µ-law 8 kHz 20 ms frames) and "
        "pressing 5 once, mid-call (not KooKoo: it has no DTMF events), show progress on "
        "stderr, then print echo latency, audible gaps, first-audio latency, checkpoint round "
        "trips and errors.",
    )
    p.add_argument("url", metavar="URL")
    add_simulated_provider(p)
    p.add_argument("--calls", type=int, required=True, help="concurrent calls")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds (default 5)")
    p.add_argument("--ramp", type=float, default=1.0, help="seconds to open all calls (default 1)")
    p.add_argument("--processes", type=int, default=1, help="generator processes (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="PNG", help="write latency/gap distributions (matplotlib)")
    p.set_defaults(run=_run_loadtest)


def _run_loadtest(args: argparse.Namespace) -> int:
    from ..testing._loadtest import run_loadtest
    from ..testing._loadtest._report import write_plot

    if args.calls < 1 or args.processes < 1 or args.duration <= 0 or args.ramp < 0:
        raise ConfigurationError("--calls and --processes must be >= 1, --duration > 0")
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
    )
    if args.plot:
        write_plot(result, args.plot)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.format_summary())
    return 0 if result.report.calls_ok == args.calls and result.generator_ok else 1
