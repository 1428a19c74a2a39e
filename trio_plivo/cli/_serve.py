"""``trio-plivo serve APP``: run an app behind the stream server (and the one-port front)."""

from __future__ import annotations

import argparse
import logging
import os
import signal

import trio

from .._format import MULAW_8K
from ..apps import BUILTIN_APPS, load_app
from ..call import CallConfig
from ..protocol import PROVIDERS, codec_factory_for
from ..server import StreamServer
from ..signatures import SignatureValidator
from ..workers import add_workers_argument, serve_args_with_workers


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
        "--provider",
        default="plivo",
        choices=sorted(PROVIDERS),
        help="wire protocol of the calls (default plivo; auto: detect from the first message)",
    )
    p.add_argument("--record-dir", help="record every call to DIR/<call id>.wav (stereo)")
    p.add_argument("--event-log-dir", help="append every call event to DIR/events-DAY.jsonl")
    p.add_argument(
        "--shutdown-grace",
        type=float,
        default=10.0,
        help="on SIGINT/SIGTERM, seconds active calls get to finish (default 10)",
    )
    _add_plivo_http_options(p)
    add_workers_argument(p)
    p.set_defaults(run=_run_serve)


def _add_plivo_http_options(p: argparse.ArgumentParser) -> None:
    # One process, one port: the answer URL and status callbacks next to the stream.
    p.add_argument(
        "--answer",
        action="store_true",
        help="also serve GET/POST /answer (Stream XML), /status (stream callbacks) and /healthz",
    )
    p.add_argument(
        "--public-url",
        help="the public stream URL (wss://...) for the XML and signature checks, when a "
        "proxy rewrites hosts or paths (default: built from each request's X-Forwarded-Proto "
        "and X-Forwarded-Host or Host)",
    )
    p.add_argument(
        "--content-type",
        default=MULAW_8K.to_content_type(),
        help="Stream contentType in the answer XML (default audio/x-mulaw;rate=8000; also "
        "audio/x-l16;rate=8000, audio/x-l16;rate=16000)",
    )
    p.add_argument(
        "--auth-token",
        help="verify Plivo signatures with this auth token (default: $PLIVO_AUTH_TOKEN; the "
        "environment keeps it out of process listings)",
    )


def _auth_token(args: argparse.Namespace) -> str | None:
    return args.auth_token or os.environ.get("PLIVO_AUTH_TOKEN") or None


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
    )


async def _serve(args: argparse.Namespace) -> None:
    server = _build_server(args)
    if server.signature_validator is None:
        logging.getLogger("trio_plivo.server").warning(
            "not verifying Plivo signatures (set PLIVO_AUTH_TOKEN): anyone can open a call"
        )
    front = None
    if args.answer:
        from ..web import PlivoFront  # the HTTP front only when asked for

        # Built before the nursery so a bad option is a plain ConfigurationError (exit 2).
        front = PlivoFront(server, content_type=args.content_type, public_url=args.public_url)
    async with trio.open_nursery() as nursery:
        if front is not None:
            await nursery.start(front.serve, args.host, args.port)
            print(
                f"listening on http://{args.host}:{server.port} (answer {front.answer_path}, "
                f"status {front.status_path}, health {front.health_path}, stream {args.path})",
                flush=True,
            )
        else:
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
    if args.workers is not None:
        return serve_args_with_workers(args)
    trio.run(_serve, args)
    return 0
