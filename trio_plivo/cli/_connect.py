"""``trio-plivo connect URL``: client mode, dial a stream server and run an app on it."""

from __future__ import annotations

import argparse
from functools import partial

import trio

from .._exceptions import ConfigurationError
from ..apps import load_app


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
