"""``trio-plivo``: serve an app, simulate and load-test calls; one module per command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from .._exceptions import ConfigurationError
from ._errors import check_websocket_url, explain
from ._parser import add_commands

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trio-plivo", description="Trio-native phone-call audio streams."
    )
    parser.add_argument("--version", action="version", version=f"trio-plivo {__version__}")
    parser.add_argument("--log-level", default="INFO", help=_LOG_LEVEL_HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    add_commands(commands)
    for command in commands.choices.values():
        # Also after the command (`trio-plivo serve echo --log-level debug`); SUPPRESS keeps
        # the value given before it when this one is absent.
        command.add_argument("--log-level", default=argparse.SUPPRESS, help=_LOG_LEVEL_HELP)
    return parser


_LOG_LEVEL_HELP = "logging level: debug, info, warning, error (default info)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trio-plivo`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = args.log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        parser.error(f"--log-level must be debug, info, warning or error, not {args.log_level!r}")
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The WebSocket library logs every connection at INFO; our call lines say more.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        url = getattr(args, "url", None)
        if url is not None:
            check_websocket_url(url)
        code: int = args.run(args)
    except ConfigurationError as exc:
        print(f"trio-plivo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:
        message = explain(exc, args)
        if message is None:
            raise
        print(f"trio-plivo: {message}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
