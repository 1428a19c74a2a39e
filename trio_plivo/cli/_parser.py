"""The ``trio-plivo`` command line's grammar: every command's arguments, spelled in one place
(each command's behaviour is in its own module)."""

from __future__ import annotations

import argparse

from .._format import MULAW_8K
from ..apps import BUILTIN_APPS
from ..testing._simulator._providers import PHONE_PROVIDERS, SIMULATED
from ..workers import add_workers_argument
from ._connect import _run_connect
from ._demo import _run_demo
from ._loadtest import _run_loadtest
from ._serve import _run_serve
from ._simulate import _FORMATS, _run_simulate

__all__ = ["add_commands", "port_number"]


def port_number(text: str) -> int:
    """A TCP port, 0-65535 (the kernel would otherwise wrap 99999 to 34463)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535 (0 picks a free port), got {port}")
    return port


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Every command, in ``--help`` order."""
    _add_serve(commands)
    _add_simulate(commands)
    _add_demo(commands)
    _add_connect(commands)
    _add_loadtest(commands)


def add_simulated_provider(
    parser: argparse.ArgumentParser, choices: tuple[str, ...] = tuple(SIMULATED)
) -> None:
    """``--provider``: whose protocol a simulated caller speaks (the registry's order, as
    everywhere)."""
    parser.add_argument(
        "--provider",
        default="plivo",
        choices=list(choices),
        help="whose protocol to speak (default plivo)",
    )


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "serve",
        help="run a stream server for an app",
        description="Serve APP on ws://HOST:PORT/PATH. APP is a built-in app "
        f"({', '.join(sorted(BUILTIN_APPS))}) or package.module:function (an async function "
        "taking the call, or a CallHooks); the current directory is searched first.",
    )
    p.add_argument("app", metavar="APP", help="the app: a built-in name or module:function")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    p.add_argument(
        "--port", type=port_number, default=8000, help="0-65535; 0 picks a free port (default 8000)"
    )
    p.add_argument("--path", default="/stream", help="the stream's path (default /stream)")
    p.add_argument("--lead-ms", type=float, default=100.0, help="playback lead (default 100)")
    p.add_argument("--max-calls", type=int, default=None, help="refuse calls beyond this (503)")
    p.add_argument(
        "--provider",
        default="auto",
        choices=["auto", *PHONE_PROVIDERS],
        help="wire protocol of the calls (default auto: detected from each stream's first "
        "messages, a bare Plivo start included; name one to accept only it)",
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
    add_browser_options(p)
    add_control_options(p)
    p.add_argument(
        "--certfile",
        metavar="PEM",
        help="serve TLS (wss://, https://) with this certificate chain; send SIGHUP to load a "
        "renewed one without dropping calls (default: plain TCP, TLS at a proxy)",
    )
    p.add_argument(
        "--keyfile", metavar="PEM", help="the certificate's private key (with --certfile)"
    )
    add_workers_argument(p)
    p.set_defaults(run=_run_serve)


def add_control_options(p: argparse.ArgumentParser) -> None:
    """``--control``: operate live calls over HTTP on the same port."""
    p.add_argument(
        "--control",
        action="store_true",
        help="also serve the control API (/calls ...) and /metrics, behind the bearer token "
        "in $TRIO_PLIVO_CONTROL_TOKEN or --control-token-file (refuses to start without one)",
    )
    p.add_argument(
        "--control-token-file",
        metavar="FILE",
        help="read the control API's bearer token from FILE (default: $TRIO_PLIVO_CONTROL_TOKEN)",
    )
    p.add_argument(
        "--registry",
        metavar="redis://HOST:PORT/DB",
        help="share through Redis what every process (and machine) must see: with --control, "
        "the calls, so any process's control API lists and reaches every call; with "
        "PLIVO_AUTH_TOKEN, signed upgrades' nonces, so a replay is refused on every process "
        "(default: this process's)",
    )
    p.add_argument(
        "--registry-ttl",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long a silent process's calls stay listed in Redis (default 30)",
    )


def add_browser_options(p: argparse.ArgumentParser) -> None:
    """``--browser`` and its guards: talk to the app from a browser tab."""
    p.add_argument(
        "--browser",
        action="store_true",
        help="also serve GET /talk, a page to talk to APP from a browser tab (its WebSocket "
        "is /talk/ws on the same port)",
    )
    p.add_argument(
        "--browser-token-file",
        metavar="FILE",
        help="the token the page must send, read from FILE (default: "
        "$TRIO_PLIVO_BROWSER_TOKEN; without a token the page is served on loopback only)",
    )
    p.add_argument(
        "--browser-public",
        action="store_true",
        help="serve the page without a token on a non-loopback --host (anyone who can reach "
        "the port can talk to APP)",
    )


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


_SIMULATED_FORMATS = sorted({name for spec in SIMULATED.values() for name in spec.formats})


def _dtmf_at(text: str) -> tuple[str, float]:
    digit, sep, at = text.partition("@")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected DIGIT@SECONDS (e.g. 5@1.5), got {text!r}")
    try:
        return digit, float(at)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected DIGIT@SECONDS (e.g. 5@1.5), got a bad time in {text!r}"
        ) from None


def _add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "simulate",
        help="place one simulated provider call (Plivo by default) against a running server",
        description="Connect to URL as the provider would, stream caller audio (default: the "
        "bundled demo recording), and print what happened.",
    )
    p.add_argument("url", metavar="URL", help="the server's stream URL, ws://HOST:PORT/PATH")
    add_simulated_provider(p)
    p.add_argument("--audio", help="caller audio: a WAV file (any rate; converted)")
    p.add_argument(
        "--format",
        choices=_SIMULATED_FORMATS,
        help="stream format, one the provider streams (default: the provider's usual: "
        + "; ".join(f"{name} {', '.join(spec.formats)}" for name, spec in SIMULATED.items())
        + "; the first is the default)",
    )
    p.add_argument(
        "--dtmf",
        type=_dtmf_at,
        nargs="*",
        default=[],
        metavar="DIGIT@SECONDS",
        help="key presses, e.g. 5@1.5 *@3 (default: none)",
    )
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
        choices=["echo", "agent", "browser"],
        default="echo",
        help="echo (default), or agent: the offline voice agent's menu, barged in on, "
        "then a goodbye heard in full before it hangs up; or browser: the offline agent "
        "with a page to talk to it from a browser tab (prints its URL; Ctrl-C stops it)",
    )
    p.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="demo browser: the page's port (default 8000; 0 picks a free one)",
    )
    p.add_argument(
        "--format",
        choices=sorted(_FORMATS),
        default="mulaw8k",
        help="the simulated call's format (default mulaw8k)",
    )
    p.add_argument("--record", metavar="WAV", help="write what the caller heard to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_run_demo)


def _add_connect(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "connect",
        help="dial a stream server and run APP on each stream (client mode)",
        description="Connect to URL (the app dials the provider's stream server), run APP on "
        "every stream that arrives, and reconnect with exponential backoff.",
    )
    p.add_argument("url", metavar="URL", help="the stream server to dial (ws:// or wss://)")
    p.add_argument("app", metavar="APP", help="the app: a built-in name or module:function")
    p.add_argument(
        "--provider",
        default="auto",
        choices=["auto", *PHONE_PROVIDERS],
        help="wire protocol of the streams (default auto: detected from the first messages)",
    )
    p.add_argument("--no-reconnect", action="store_true", help="one stream, then exit")
    p.add_argument("--max-attempts", type=int, default=None, help="give up after N failures")
    p.add_argument(
        "--backoff",
        type=float,
        nargs=3,
        default=(0.5, 30.0, 0.2),
        metavar=("INITIAL", "MAX", "JITTER"),
        help="reconnect delays in seconds: first, largest, random share (default 0.5 30 0.2)",
    )
    p.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="a header for the upgrade request; repeat for more (default: none)",
    )
    p.set_defaults(run=_run_connect)


def _add_loadtest(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "loadtest",
        help="N concurrent simulated provider callers (Plivo by default) against a running server",
        description="Open N simulated calls to URL, each streaming real-time audio in the "
        "provider's default format and packet size (Plivo: µ-law 8 kHz 20 ms frames) and "
        "pressing 5 once, mid-call, and 4 then * (barge-in) --barge-in-at seconds in (not "
        "KooKoo: it has no DTMF events), show progress on stderr, then print echo latency, "
        "audible gaps, first-audio latency, checkpoint round trips, the barge-in's clear and "
        "stale audio, and errors.",
    )
    p.add_argument("url", metavar="URL", help="the server's stream URL, ws://HOST:PORT/PATH")
    add_simulated_provider(p, PHONE_PROVIDERS)
    p.add_argument("--calls", type=int, required=True, help="concurrent calls")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds (default 5)")
    p.add_argument("--ramp", type=float, default=1.0, help="seconds to open all calls (default 1)")
    p.add_argument("--processes", type=int, default=1, help="generator processes (default 1)")
    p.add_argument(
        "--barge-in-at",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="each call presses 4 then * this far into its audio and measures the clear and "
        "the stale audio after it (default 2; skipped in calls shorter than this + 0.5 s)",
    )
    p.add_argument("--no-barge-in", action="store_true", help="no barge-in key presses")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="PNG", help="write latency/gap distributions (matplotlib)")
    p.set_defaults(run=_run_loadtest)
