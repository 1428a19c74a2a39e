"""The entry points: :func:`run_workers` for Python, and the ``serve --workers`` CLI glue."""

from __future__ import annotations

import argparse
import os
from functools import partial
from typing import Any

import attrs
import trio

from .._exceptions import ConfigurationError
from .._secrets import browser_token, control_token
from ._options import REGISTRY_NEEDS, ServeOptions, worker_count
from ._supervisor import RestartPolicy, WorkerPool

__all__ = ["add_workers_argument", "run_workers", "serve_args_with_workers"]

#: ``trio-plivo serve`` arguments that are not server options (or are the pool's own).
_NOT_OPTIONS = frozenset({"command", "run", "log_level", "host", "port", "workers", "app"})


def run_workers(
    app: str,
    *,
    workers: int | str = "auto",
    host: str | None = "127.0.0.1",
    port: int = 8000,
    restart: RestartPolicy | None = None,
    **server_options: Any,
) -> int:
    """Serve ``app`` from ``workers`` processes sharing ``host:port``; block until stopped.

    ``app`` is a built-in app name (``echo``, ``agent``) or an import string
    ``package.module:function``: every worker imports it itself, so it must be importable in
    a fresh interpreter. ``workers`` is a count or ``"auto"`` (one per CPU this process may
    use). ``server_options`` are :class:`ServeOptions` fields (``path``, ``max_calls``,
    ``shutdown_grace``, ``answer`` ...). Prints ``listening on URL (N workers)`` once every
    worker listens; SIGTERM or SIGINT drains every worker.

    Returns the exit status: 0 after a clean stop, 1 after a crash loop (or a worker that
    did not drain in time), 2 when the app cannot load. Raises :class:`ConfigurationError`
    before starting anything for options that can never work, a port in use, or
    ``workers > 1`` where the platform has no ``SO_REUSEPORT``.
    """
    try:
        options = ServeOptions(app, **server_options)
    except TypeError as exc:
        known = ", ".join(f.name for f in attrs.fields(ServeOptions) if f.name != "app")
        raise ConfigurationError(f"{exc}; server options are: {known}") from None
    pool = WorkerPool(
        options,
        workers=worker_count(workers),
        host=host,
        port=port,
        restart=RestartPolicy() if restart is None else restart,
    )
    return trio.run(partial(pool.run, on_ready=_announce))


def _announce(pool: WorkerPool) -> None:
    print(f"listening on {_describe(pool)}", flush=True)


def _describe(pool: WorkerPool) -> str:
    workers = f"{pool.workers} worker{'s' if pool.workers != 1 else ''}"
    options = pool.options
    if options.answer:
        # As ``trio-plivo serve --answer`` says it (the front's default routes).
        return (
            f"{pool.url} (answer /answer, status /status, health /healthz, "
            f"stream {options.path}; {workers})"
        )
    return f"{pool.url} ({workers})"


# --- the CLI -------------------------------------------------------------------------------


def _workers_argument(value: str) -> int | str:
    try:
        worker_count(value)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value if value == "auto" else int(value)


def add_workers_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers N|auto`` to the ``serve`` parser."""
    parser.add_argument(
        "--workers",
        type=_workers_argument,
        default=None,
        metavar="N|auto",
        help="serve from N worker processes sharing the port through SO_REUSEPORT, "
        "restarted when they die (auto: one per CPU this process may use; default: one "
        "process, no supervisor)",
    )


def serve_args_with_workers(args: argparse.Namespace) -> int:
    """Run ``trio-plivo serve``'s parsed ``args`` (with ``--workers``) under a supervisor."""
    known = {field.name for field in attrs.fields(ServeOptions)}
    given = {k: v for k, v in vars(args).items() if k not in _NOT_OPTIONS}
    if given.pop("control", False):
        # A control request reaches one worker, which sees only its own calls: refuse rather
        # than answer 404 for calls another worker holds.
        if worker_count(args.workers) > 1 and not given.get("registry"):
            raise ConfigurationError(
                "--control with several workers needs --registry redis://...: a request "
                "landing on one worker must reach the call another worker holds"
            )
        given["control_token"] = control_token(True, given.get("control_token_file"))
    given.pop("control_token_file", None)
    signed = given.get("auth_token") or os.environ.get("PLIVO_AUTH_TOKEN")
    if given.get("registry") and not (given.get("control_token") or signed):
        raise ConfigurationError(REGISTRY_NEEDS)
    token_file = given.pop("browser_token_file", None)
    if token_file:  # read here: the workers get the token itself, over their pipe
        given["browser_token"] = browser_token(token_file)
    elif given.get("browser_public") and not given.get("browser"):
        raise ConfigurationError("--browser-public and --browser-token-file go with --browser")
    if given.get("browser"):
        from ..web._talk import check_browser_host

        token = given.get("browser_token") or browser_token(None)
        check_browser_host(args.host, token, bool(given.get("browser_public")))
    unknown = sorted(set(given) - known)
    if unknown:  # a serve option this module does not know yet: refuse, never drop it
        raise ConfigurationError(f"--workers does not support: {', '.join(unknown)}")
    return run_workers(args.app, workers=args.workers, host=args.host, port=args.port, **given)
