"""``trio-plivo simulate URL``: one simulated provider call against a running server."""

from __future__ import annotations

import argparse
import json
from functools import partial

import trio

from .._exceptions import ConfigurationError
from .._format import L16_8K, L16_16K, MULAW_8K
from ..signatures import signature_headers
from ..testing import CallerAudio, CallReport, FakeProvider, format_report
from ..testing._simulator._providers import SIMULATED, provider_spec
from ._options import add_simulated_provider
from ._serve import _auth_token

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
    add_simulated_provider(p)
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
