"""Everyday failures as one line a person can act on, instead of a traceback.

The commands let errors propagate (often wrapped in exception groups by nurseries);
:func:`explain` turns the ones a newcomer meets in the first hour into a sentence saying what
to do. Anything it does not recognise keeps its traceback: that is a bug to report.
"""

from __future__ import annotations

import argparse
import errno
import socket
from urllib.parse import urlsplit

from .._exceptions import ConfigurationError
from ..ws import WebSocketHandshakeError

__all__ = ["check_websocket_url", "explain"]


def check_websocket_url(url: str) -> None:
    """Refuse, before connecting, a URL no WebSocket can be opened to (a usage error)."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ConfigurationError(f"{url!r} is not a WebSocket URL: use ws://HOST:PORT/PATH")
    if not parts.hostname:
        raise ConfigurationError(f"{url!r} names no host: use ws://HOST:PORT/PATH")
    try:
        parts.port  # noqa: B018 -- urlsplit checks the range only when asked
    except ValueError:
        raise ConfigurationError(f"{url!r}: the port must be 0-65535") from None


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def explain(exc: BaseException, args: argparse.Namespace) -> str | None:
    """The one line for ``exc`` (alone, or the only error in a group), or ``None``."""
    leaves = _leaves(exc)
    if len(leaves) != 1:
        return None
    error = leaves[0]
    url = getattr(args, "url", None)
    if isinstance(error, WebSocketHandshakeError):
        return _refused(error, url)
    if isinstance(error, socket.gaierror):
        host = urlsplit(url).hostname if url else "the host"
        return f"cannot find host {host!r} ({error.strerror}): check the URL"
    if isinstance(error, OSError):
        if error.errno == errno.EADDRINUSE or "address already in use" in str(error).lower():
            port = getattr(args, "port", "?")
            return f"port {port} is in use: stop what is listening there, or pass --port 0"
        if "all attempts to connect" in str(error) or error.errno == errno.ECONNREFUSED:
            return f"nothing is listening at {url}: is the server running on that port?"
    return None


def _refused(error: WebSocketHandshakeError, url: str | None) -> str:
    status = error.status_code
    where = f" at {url}" if url else ""
    if status == 404:
        path = urlsplit(url).path if url else "that path"
        return f"the server has no stream at {path!r} (404): is the path /stream?"
    if status == 403:
        return (
            "the server checks signatures and refused the upgrade (403): pass --auth-token "
            "or set $PLIVO_AUTH_TOKEN to the server's auth token"
        )
    if status == 401:
        return "the server wants a token (401): check the token you passed"
    if status == 503:
        return "the server is full or shutting down (503): try again, or raise its --max-calls"
    if status is None:
        return f"no WebSocket{where}: {error}"
    return f"the server refused the WebSocket{where}: {error}"
