"""Listening sockets that share one port across processes (``SO_REUSEPORT``).

Every worker opens its own listening socket on the same address with ``SO_REUSEPORT`` set,
and the kernel spreads new connections over the listening ones (on Linux by a hash of each
connection's addresses). A worker that dies takes only its own socket, and the connections
it had accepted, with it; the others keep accepting.

The supervisor holds a *reservation*: the same address bound with ``SO_REUSEPORT`` but never
listening. A bound socket that does not listen receives no connections, yet it keeps the
port: with port 0 it is how the supervisor picks the one port every worker binds, and while
workers restart nobody else can take the port.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import attrs
import trio

from .._exceptions import ConfigurationError

__all__ = [
    "Reservation",
    "open_listeners",
    "reserve",
    "reuseport_balances",
    "reuseport_unavailable",
]

_RESERVE_ATTEMPTS = 10
_SocketAddress = tuple[Any, ...]


def _reuseport_option() -> int | None:
    # FreeBSD's plain SO_REUSEPORT lets sockets share a port but sends every connection to
    # one of them; its SO_REUSEPORT_LB is the balancing one that Linux's SO_REUSEPORT is.
    option = getattr(socket, "SO_REUSEPORT_LB", None) or getattr(socket, "SO_REUSEPORT", None)
    return None if option is None else int(option)


def reuseport_balances() -> bool:
    """Whether this kernel spreads connections over ``SO_REUSEPORT`` listeners (Linux,
    FreeBSD with ``SO_REUSEPORT_LB``); elsewhere it may let them share a port only."""
    return sys.platform.startswith("linux") or hasattr(socket, "SO_REUSEPORT_LB")


def reuseport_unavailable() -> str | None:
    """Why ``SO_REUSEPORT`` cannot be used here, or ``None`` when it can."""
    option = _reuseport_option()
    if option is None:
        return f"this platform ({sys.platform}) has no SO_REUSEPORT"
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, option, 1)
    except OSError as exc:
        return f"setting SO_REUSEPORT failed: {exc}"
    finally:
        probe.close()
    return None


def _unique(
    infos: list[tuple[Any, Any, Any, Any, _SocketAddress]],
) -> list[tuple[int, _SocketAddress]]:
    """(family, address) of every distinct address in a getaddrinfo answer."""
    seen: list[tuple[int, _SocketAddress]] = []
    for family, _type, _proto, _name, address in infos:
        entry = (int(family), tuple(address))
        if entry not in seen:
            seen.append(entry)
    return seen


def _addresses(host: str | None, port: int) -> list[tuple[int, _SocketAddress]]:
    """Every address ``host`` listens on, resolved as :func:`trio.open_tcp_listeners` does
    (``None``: every interface, IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigurationError(f"cannot resolve host {host!r}: {exc}") from None
    return _unique(infos)


def _configure(sock: socket.socket | trio.socket.SocketType, family: int) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    option = _reuseport_option()
    if option is None:
        raise ConfigurationError(f"this platform ({sys.platform}) has no SO_REUSEPORT")
    sock.setsockopt(socket.SOL_SOCKET, option, 1)
    if family == socket.AF_INET6:
        # One socket per family, as trio does: an IPv6 socket must not claim IPv4 too.
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)


@attrs.define(eq=False)
class Reservation:
    """Bound, never listening ``SO_REUSEPORT`` sockets that hold ``port`` for the workers."""

    port: int
    sockets: list[socket.socket]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets = []


def reserve(host: str | None, port: int) -> Reservation:
    """Bind ``host:port`` with ``SO_REUSEPORT`` on every address of ``host``, without
    listening. With port 0 one free port is chosen that is free on all of them.

    Raises :class:`ConfigurationError` when the port is taken (by a process that did not
    set ``SO_REUSEPORT``, or another user's).
    """
    for _attempt in range(_RESERVE_ATTEMPTS):
        chosen = port
        sockets: list[socket.socket] = []
        try:
            for family, address in _addresses(host, port):
                sock = socket.socket(family, socket.SOCK_STREAM)
                sockets.append(sock)
                _configure(sock, family)
                sock.bind((address[0], chosen, *address[2:]))
                chosen = int(sock.getsockname()[1])
        except OSError as exc:
            for sock in sockets:
                sock.close()
            if port == 0 and len(sockets) > 1:
                continue  # the port chosen on the first address was taken on another: again
            raise ConfigurationError(f"cannot bind {host}:{port}: {exc}") from None
        if not sockets:
            raise ConfigurationError(f"host {host!r} has no address to listen on")
        return Reservation(chosen, sockets)
    raise ConfigurationError(f"found no port free on every address of {host!r}")


async def open_listeners(
    host: str | None, port: int, *, reuse_port: bool, backlog: int | None = None
) -> list[trio.SocketListener]:
    """This worker's listening sockets on ``host:port`` (one per address of ``host``).

    With ``reuse_port`` each one is a fresh ``SO_REUSEPORT`` socket beside the other
    workers'; without it (a single worker where the platform has no ``SO_REUSEPORT``) they
    are ordinary listeners, as :func:`trio.open_tcp_listeners` makes them.
    """
    if not reuse_port:
        return list(await trio.open_tcp_listeners(port, host=host, backlog=backlog))
    listeners: list[trio.SocketListener] = []
    try:
        infos = await trio.socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, address in _unique(infos):
            sock = trio.socket.socket(family, socket.SOCK_STREAM)
            try:
                _configure(sock, family)
                await sock.bind(address)
                sock.listen(backlog if backlog is not None else socket.SOMAXCONN)
            except BaseException:
                sock.close()
                raise
            listeners.append(trio.SocketListener(sock))
    except BaseException:
        for listener in listeners:
            listener.socket.close()
        raise
    return listeners
