"""``trio-plivo connect URL``: client mode, dial a stream server and run an app on it."""

from __future__ import annotations

import argparse
from functools import partial

import trio

from .._exceptions import ConfigurationError
from ..apps import load_app
from ..protocol import PROVIDERS


def _add_connect(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "connect",
        help="dial a stream server and run APP on each stream (client mode)",
        description="Connect to URL (the app dials the provider's stream server), run APP on "
        "every stream that arrives, and reconnect with exponential backoff.",
    )
    p.add_argument("url", metavar="URL")
    p.add_argument("app", metavar="APP")
    p.add_argument("--provider", default="auto", choices=sorted(PROVIDERS))
    p.add_argument("--no-reconnect", action="store_true", help="one stream, then exit")
    p.add_argument("--max-attempts", type=int, default=None, help="give up after N failures")
    p.add_argument(
        "--backoff",
        type=float,
        nargs=3,
        default=(0.5, 30.0, 0.2),
        metavar=("INITIAL", "MAX", "JITTER"),
    )
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    p.set_defaults(run=_run_connect)


def _run_connect(args: argparse.Namespace) -> int:
    from ..client import connect

    headers = []
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep:
            raise ConfigurationError(f"--header wants NAME:VALUE, got {item!r}")
        headers.append((name.strip(), value.strip()))
    trio.run(
        partial(
            connect,
            args.url,
            load_app(args.app),
            codec=args.provider,
            reconnect=not args.no_reconnect,
            max_attempts=args.max_attempts,
            backoff=tuple(args.backoff),
            headers=headers,
        )
    )
    return 0
