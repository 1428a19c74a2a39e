"""``trio-plivo``: serve an app, and (as the simulator lands) simulate and load-test calls."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from functools import partial

import trio

from ._exceptions import ConfigurationError
from ._format import L16_8K, L16_16K, MULAW_8K
from .apps import BUILTIN_APPS, load_app
from .call import CallConfig
from .protocol import PROVIDERS, codec_factory_for
from .server import StreamServer
from .signatures import SignatureValidator, signature_headers
from .testing import CallerAudio, CallReport, FakePlivo, FakeProvider, format_report
from .testing._simulator._providers import SIMULATED, provider_spec

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
        from .web import PlivoFront  # the HTTP front only when asked for

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
    trio.run(_serve, args)
    return 0


_FORMATS = {"mulaw8k": MULAW_8K, "l16-8k": L16_8K, "l16-16k": L16_16K}
#: Every format name some simulated provider streams (each provider takes a subset).
_SIMULATED_FORMATS = sorted({name for spec in SIMULATED.values() for name in spec.formats})


def _dtmf_at(text: str) -> tuple[str, float]:
    digit, sep, at = text.partition("@")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected DIGIT@SECONDS, got {text!r}")
    try:
        return digit, float(at)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad time in {text!r}") from None


def _add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "simulate",
        help="place one simulated provider call (Plivo by default) against a running server",
        description="Connect to URL as the provider would, stream caller audio (default: the "
        "bundled demo recording), and print what happened.",
    )
    p.add_argument("url", metavar="URL")
    p.add_argument(
        "--provider",
        default="plivo",
        choices=list(SIMULATED),
        help="whose protocol to speak (default plivo)",
    )
    p.add_argument("--audio", help="caller audio: a WAV file (any rate; converted)")
    p.add_argument(
        "--format",
        choices=_SIMULATED_FORMATS,
        help="stream format, one the provider streams (default: the provider's usual: "
        + "; ".join(f"{name} {', '.join(spec.formats)}" for name, spec in SIMULATED.items())
        + "; the first is the default)",
    )
    p.add_argument("--dtmf", type=_dtmf_at, nargs="*", default=[], metavar="DIGIT@S")
    p.add_argument("--duration", type=float, help="call length in seconds (default: the audio)")
    p.add_argument(
        "--end",
        choices=["close", "stop"],
        help="how the provider ends it (default: close for plivo and vonage, stop otherwise)",
    )
    p.add_argument("--record", metavar="WAV", help="write what the caller heard to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--auth-token",
        help="sign the upgrade as Plivo does with this auth token (default: $PLIVO_AUTH_TOKEN)",
    )
    p.set_defaults(run=_run_simulate)


def _caller_audio(path: str | None) -> CallerAudio:
    return CallerAudio.from_wav(path) if path else CallerAudio.demo()


def _print_report(report: CallReport, args: argparse.Namespace) -> int:
    if args.record:
        report.write_wav(args.record)
    if args.json:
        print(json.dumps(report.to_dict(), default=str))
    else:
        print(format_report(report))
    return 1 if report.violations else 0


def _run_simulate(args: argparse.Namespace) -> int:
    spec = provider_spec(args.provider)
    if args.auth_token and spec.name != "plivo":
        raise ConfigurationError("--auth-token signs the upgrade as Plivo does: --provider plivo")
    fake = FakeProvider(
        provider=spec.name,
        format=spec.default_format if args.format is None else spec.format_named(args.format),
        audio=_caller_audio(args.audio),
        dtmf=args.dtmf,
        duration=args.duration,
        end=spec.default_end if args.end is None else args.end,
    )
    # Plivo signs the upgrade; so does the simulator when it has a token to sign with.
    token = _auth_token(args) if spec.name == "plivo" else None
    headers = {} if token is None else signature_headers(args.url, token, method="GET")
    report = trio.run(partial(fake.run_url, args.url, headers=headers))
    return _print_report(report, args)


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "demo",
        help="run the echo server and one simulated call against it (no phone, no keys)",
        description="Starts the echo app on a free loopback port, places one simulated Plivo "
        "call with the bundled caller recording, presses 5 (a checkpoint) and later * (a "
        "barge-in clear), and prints the call report.",
    )
    p.add_argument(
        "app",
        nargs="?",
        choices=["echo", "agent"],
        default="echo",
        help="echo (default), or agent: the offline voice agent's menu, barged in on, "
        "then a goodbye heard in full before it hangs up",
    )
    p.add_argument("--format", choices=sorted(_FORMATS), default="mulaw8k")
    p.add_argument("--record", metavar="WAV", help="write what the caller heard to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_run_demo)


async def _demo(args: argparse.Namespace) -> CallReport:
    server = StreamServer(load_app(args.app))
    if args.app == "agent":
        # Key 1 cuts the greeting (barge-in) and gets an answer; 9 gets the goodbye, heard in
        # full, and then the agent hangs up.
        fake = FakePlivo(format=_FORMATS[args.format], duration=20, dtmf=[("1", 4.0), ("9", 12.0)])
    else:
        fake = FakePlivo(
            format=_FORMATS[args.format],
            audio=CallerAudio.demo() + CallerAudio.silence(1.0),
            dtmf=[("5", 1.0), ("*", 2.5)],
        )
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, "127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}{server.path}"
        print(f"{args.app} server listening on {url}; placing a simulated call", file=sys.stderr)
        report = await fake.run_url(url)
        server.shutdown()
    return report


def _run_demo(args: argparse.Namespace) -> int:
    return _print_report(trio.run(_demo, args), args)


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
    from .client import connect

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
    p.add_argument(
        "--provider",
        default="plivo",
        choices=list(SIMULATED),
        help="whose protocol to speak (default plivo)",
    )
    p.add_argument("--calls", type=int, required=True, help="concurrent calls")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds (default 5)")
    p.add_argument("--ramp", type=float, default=1.0, help="seconds to open all calls (default 1)")
    p.add_argument("--processes", type=int, default=1, help="generator processes (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="PNG", help="write latency/gap distributions (matplotlib)")
    p.set_defaults(run=_run_loadtest)


def _run_loadtest(args: argparse.Namespace) -> int:
    from .testing._loadtest import run_loadtest
    from .testing._loadtest._report import write_plot

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trio-plivo", description="Trio-native phone-call audio streams."
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve(commands)
    _add_simulate(commands)
    _add_demo(commands)
    _add_connect(commands)
    _add_loadtest(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trio-plivo`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The WebSocket library logs every connection at INFO; our call lines say more.
    logging.getLogger("websockets").setLevel(logging.WARNING)
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
