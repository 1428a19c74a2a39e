"""``trio-plivo serve APP``: run an app behind the stream server (and the one-port front)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import ssl
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import trio

from .._exceptions import ConfigurationError
from .._secrets import browser_token, control_token, load_certificate, tls_context
from ..apps import load_app
from ..call import CallConfig
from ..protocol import codec_factory_for
from ..server import StreamServer
from ..signatures import SignatureValidator
from ..workers import serve_args_with_workers, tune_gc_for_serving
from ..workers._options import REGISTRY_NEEDS, enter_registry

if TYPE_CHECKING:
    from ..fleet import RedisCallDirectory
    from ..web import PlivoFront


def _auth_token(args: argparse.Namespace) -> str | None:
    return args.auth_token or os.environ.get("PLIVO_AUTH_TOKEN") or None


async def reload_certificate_on_sighup(
    context: ssl.SSLContext, certfile: str, keyfile: str
) -> None:
    """Load the certificate again on each SIGHUP: new connections get it, live calls keep
    theirs (certificate rotation without a restart)."""
    with trio.open_signal_receiver(signal.SIGHUP) as signals:
        async for _ in signals:
            try:
                load_certificate(context, certfile, keyfile)
            except ConfigurationError as exc:
                log = logging.getLogger("trio_plivo.server")
                log.error("SIGHUP: kept the old certificate: %s", exc)  # noqa: TRY400
            else:
                logging.getLogger("trio_plivo.server").info(
                    "SIGHUP: certificate reloaded from %s", certfile
                )


def _build_server(args: argparse.Namespace) -> StreamServer:
    token = _auth_token(args)
    validator = None if token is None else SignatureValidator(token, public_url=args.public_url)
    return StreamServer(
        load_app(args.app),
        path=args.path,
        config=CallConfig(
            lead_ms=args.lead_ms, record_dir=args.record_dir, event_log_dir=args.event_log_dir
        ),
        max_calls=args.max_calls,
        shutdown_grace=args.shutdown_grace,
        signature_validator=validator,
        codec_factory=codec_factory_for(args.provider),
        ssl_context=tls_context(args.certfile, args.keyfile),
    )


async def _serve(args: argparse.Namespace) -> None:
    server = _build_server(args)
    if server.signature_validator is None:
        logging.getLogger("trio_plivo.server").warning(
            "not verifying Plivo signatures (set PLIVO_AUTH_TOKEN): anyone can open a call"
        )
    token = control_token(args.control, args.control_token_file)
    if args.registry and token is None and server.signature_validator is None:
        raise ConfigurationError(REGISTRY_NEEDS)
    _front_for(args, server, token, None)  # a bad option is a ConfigurationError (exit 2) now
    tune_gc_for_serving()  # the app is loaded and the server built: freeze all that
    async with AsyncExitStack() as stack:
        fleet = None
        if args.registry:
            fleet, server.nonce_cache = await enter_registry(
                stack,
                args.registry,
                args.registry_ttl,
                control=token is not None,
                signed=server.signature_validator is not None,
            )
        await _run(args, server, _front_for(args, server, token, fleet), token)


def _front_for(
    args: argparse.Namespace,
    server: StreamServer,
    token: str | None,
    fleet: RedisCallDirectory | None,
) -> PlivoFront | None:
    if not (args.answer or args.browser or token is not None):
        if args.browser_public or args.browser_token_file:
            raise ConfigurationError("--browser-public and --browser-token-file go with --browser")
        return None
    from ..web import PlivoFront  # the HTTP front only when asked for
    from ..web._talk import check_browser_host

    page_token = browser_token(args.browser_token_file) if args.browser else None
    if args.browser:
        check_browser_host(args.host, page_token, args.browser_public)
    return PlivoFront(
        server,
        content_type=args.content_type,
        public_url=args.public_url,
        browser=args.browser,
        browser_token=page_token,
        browser_public=args.browser and args.browser_public,
        control_token=token,
        fleet=fleet,
    )


async def _run(
    args: argparse.Namespace, server: StreamServer, front: PlivoFront | None, token: str | None
) -> None:
    http, ws = ("https", "wss") if server.ssl_context is not None else ("http", "ws")
    async with trio.open_nursery() as nursery:
        if server.ssl_context is not None:
            nursery.start_soon(
                reload_certificate_on_sighup, server.ssl_context, args.certfile, args.keyfile
            )
        if front is not None:
            await nursery.start(_serving, front.serve, args, nursery.cancel_scope)
            print(
                f"listening on {http}://{args.host}:{server.port} (answer {front.answer_path}, "
                f"status {front.status_path}, health {front.health_path}, stream {args.path})",
                flush=True,
            )
            if args.browser:
                print(f"talk to {args.app} at {talk_url(args.host, server.port)}", flush=True)
            if token is not None:
                print(f"control API at {http}://{args.host}:{server.port}/calls", flush=True)
        else:
            await nursery.start(_serving, server.serve, args, nursery.cancel_scope)
            print(f"listening on {ws}://{args.host}:{server.port}{args.path}", flush=True)
        nursery.start_soon(shutdown_on_signal, server)


async def _serving(
    serve: Any,
    args: argparse.Namespace,
    done: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until drained, then end the other tasks (the signal and SIGHUP watchers)."""
    await serve(args.host, args.port, task_status=task_status)
    done.cancel()


def talk_url(host: str, port: int | None) -> str:
    """The browser page's address as a person would open it."""
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "::1", "") else host
    return f"http://{shown}:{port}/talk"


async def shutdown_on_signal(server: StreamServer) -> None:
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
    if args.workers is not None:
        return serve_args_with_workers(args)
    trio.run(_serve, args)
    return 0
