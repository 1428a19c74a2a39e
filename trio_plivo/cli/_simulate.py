"""``trio-plivo simulate URL``: one simulated provider call against a running server."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial

import trio

from .._exceptions import ConfigurationError
from .._format import L16_8K, L16_16K, MULAW_8K
from ..signatures import signature_headers
from ..testing import CallerAudio, CallReport, FakeProvider, format_report
from ..testing._simulator._providers import provider_spec
from ._serve import _auth_token

_FORMATS = {"mulaw8k": MULAW_8K, "l16-8k": L16_8K, "l16-16k": L16_16K}


#: Every format name some simulated provider streams (each provider takes a subset).
def _caller_audio(path: str | None) -> CallerAudio:
    return CallerAudio.from_wav(path) if path else CallerAudio.demo()


def _print_report(report: CallReport, args: argparse.Namespace) -> int:
    if args.record:
        report.write_wav(args.record)
    if args.json:
        print(json.dumps(report.to_dict(), default=str))
    else:
        print(format_report(report))
    close = report.close
    if close.by == "app" and close.code == 1008 and not report.counts.play_audio_received:
        print(
            f"trio-plivo: the server refused the {report.provider} stream ({close.reason}): "
            f"is it serving --provider auto or --provider {report.provider}?",
            file=sys.stderr,
        )
        return 1
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
