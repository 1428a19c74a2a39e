"""``trio-plivo``: serve an app, and (as the simulator lands) simulate and load-test calls."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

import trio

from ._exceptions import ConfigurationError
from .apps import BUILTIN_APPS, load_app
from .call import CallConfig
from .server import StreamServer

__all__ = ["main"]


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "serve",
        help="run a stream server for an app",
        description="Serve APP on ws://HOST:PORT/PATH. APP is a built-in app "
        f"({', '.join(sorted(BUILTIN_APPS))}) or package.module:function.",
    )
    p.add_argument("app", metavar="APP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--path", default="/stream")
    p.add_argument("--lead-ms", type=float, default=100.0, help="playback lead (default 100)")
    p.add_argument("--max-calls", type=int, default=None, help="refuse calls beyond this (503)")
    p.add_argument(
        "--shutdown-grace",
        type=float,
        default=10.0,
        help="on SIGINT/SIGTERM, seconds active calls get to finish (default 10)",
    )
    p.set_defaults(run=_run_serve)


async def _serve(args: argparse.Namespace) -> None:
    server = StreamServer(
        load_app(args.app),
        path=args.path,
        config=CallConfig(lead_ms=args.lead_ms),
        max_calls=args.max_calls,
        shutdown_grace=args.shutdown_grace,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, args.host, args.port)
        print(f"listening on ws://{args.host}:{server.port}{args.path}", flush=True)
        nursery.start_soon(_shutdown_on_signal, server)


async def _shutdown_on_signal(server: StreamServer) -> None:
    # The first SIGINT/SIGTERM drains gracefully; the receiver is gone afterwards, so a
    # second Ctrl-C interrupts the drain the usual way.
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logging.getLogger("trio_plivo.server").info(
                "%s: shutting down", signal.Signals(signum).name
            )
            server.shutdown()
            return


def _run_serve(args: argparse.Namespace) -> int:
    trio.run(_serve, args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trio-plivo", description="Trio-native phone-call audio streams."
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trio-plivo`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.run(args)
    except ConfigurationError as exc:
        print(f"trio-plivo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
