"""Per-frame cost of parsing each provider's inbound media message.

For every provider codec, ``codec.receive`` on 500 media frames against the floor measured
in the same run on the same frames: ``json.loads`` + ``base64.b64decode`` for the JSON/base64
providers, ``json.loads`` + ``array("h", samples)`` for KooKoo's sample arrays, and
``bytes(frame)`` for Vonage's raw binary frames.

Run: ``python -m bench providers`` (or ``python bench/bench_providers.py``).
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import timeit
from array import array
from collections.abc import Callable
from typing import Any

from trio_plivo.protocol import PlivoCodec, ProviderCodec
from trio_plivo.protocol.exotel import ExotelCodec
from trio_plivo.protocol.kookoo import KooKooCodec
from trio_plivo.protocol.signalwire import SignalWireCodec
from trio_plivo.protocol.telnyx import TelnyxCodec
from trio_plivo.protocol.twilio import TwilioCodec
from trio_plivo.protocol.vonage import VonageCodec

COUNT = 500
SID = "MZ18ad3ab5a668481ce02b83e7395059f0"


def _b64(size: int) -> str:
    return base64.b64encode(os.urandom(size)).decode()


def _plivo() -> tuple[ProviderCodec, dict[str, Any], Callable[[int], str | bytes]]:
    start = {
        "event": "start",
        "start": {
            "callId": "c",
            "streamId": SID,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
        },
    }
    return (
        PlivoCodec(),
        start,
        lambda i: json.dumps(
            {
                "event": "media",
                "sequenceNumber": i + 2,
                "streamId": SID,
                "media": {
                    "track": "inbound",
                    "timestamp": str(20 * i),
                    "chunk": i + 1,
                    "payload": _b64(160),
                },
                "extra_headers": "tenant=acme;lead=42",
            }
        ),
    )


def _twilio_like(
    codec: ProviderCodec, sid_key: str, seq_key: str, size: int
) -> Callable[[int], str]:
    return lambda i: json.dumps(
        {
            "event": "media",
            seq_key: str(i + 2),
            sid_key: SID,
            "media": {
                "track": "inbound",
                "chunk": str(i + 1),
                "timestamp": str(20 * i),
                "payload": _b64(size),
            },
        }
    )


def _setups() -> dict[str, tuple[ProviderCodec, Any, Callable[[int], str | bytes], str]]:
    twilio_start = {
        "event": "start",
        "streamSid": SID,
        "start": {"streamSid": SID, "callSid": "CA1"},
    }
    sw_start = {
        "event": "start",
        "streamSid": SID,
        "start": {
            "streamSid": SID,
            "callSid": "CA1",
            "mediaFormat": {"encoding": "audio/x-l16", "sampleRate": 16000},
        },
    }
    exotel_start = {
        "event": "start",
        "stream_sid": SID,
        "start": {"stream_sid": SID, "call_sid": "CA1"},
    }
    telnyx_start = {
        "event": "start",
        "stream_id": SID,
        "start": {
            "call_control_id": "v3:x",
            "media_format": {"encoding": "PCMU", "sample_rate": 8000},
        },
    }
    kookoo_start = {"event": "start", "ucid": "2127", "did": "1", "call_id": "2"}
    samples = [int.from_bytes(os.urandom(2), "little", signed=True) for _ in range(80)]
    plivo, plivo_start, plivo_frame = _plivo()
    return {
        "plivo µ-law 160 B": (plivo, plivo_start, plivo_frame, "json"),
        "twilio µ-law 160 B": (
            TwilioCodec(),
            twilio_start,
            _twilio_like(TwilioCodec(), "streamSid", "sequenceNumber", 160),
            "json",
        ),
        "signalwire L16 640 B": (
            SignalWireCodec(),
            sw_start,
            _twilio_like(SignalWireCodec(), "streamSid", "sequenceNumber", 640),
            "json",
        ),
        "exotel L16 1600 B": (
            ExotelCodec(),
            exotel_start,
            _twilio_like(ExotelCodec(), "stream_sid", "sequence_number", 1600),
            "json",
        ),
        "telnyx µ-law 160 B": (
            TelnyxCodec(),
            telnyx_start,
            _twilio_like(TelnyxCodec(), "stream_id", "sequence_number", 160),
            "json",
        ),
        "vonage L16 640 B": (
            VonageCodec(),
            {"event": "websocket:connected", "content-type": "audio/l16;rate=16000"},
            lambda i: os.urandom(640),
            "binary",
        ),
        "kookoo 80 samples": (
            KooKooCodec(),
            kookoo_start,
            lambda i: json.dumps(
                {
                    "event": "media",
                    "type": "media",
                    "ucid": "2127",
                    "data": {
                        "samples": samples,
                        "bitsPerSample": 16,
                        "sampleRate": 8000,
                        "channelCount": 1,
                        "numberOfFrames": 80,
                        "type": "data",
                    },
                }
            ),
            "samples",
        ),
    }


def _per_frame_us(fn: Callable[[], None], frames: int, repeat: int = 7) -> tuple[float, float]:
    times = timeit.repeat(fn, number=10, repeat=repeat)
    per = [t / (10 * frames) * 1e6 for t in times]
    return min(per), statistics.median(per)


def _floor(kind: str, frames: list[Any]) -> Callable[[], None]:
    if kind == "binary":

        def floor() -> None:
            for f in frames:
                bytes(f)
    elif kind == "samples":

        def floor() -> None:
            for f in frames:
                array("h", json.loads(f)["data"]["samples"]).tobytes()
    else:

        def floor() -> None:
            for f in frames:
                base64.b64decode(json.loads(f)["media"]["payload"])

    return floor


def main() -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    print("Inbound media parse cost per frame (µs; min / median of 7 runs)")
    print(f"{'provider / frame':<24}{'floor':>16}{'codec':>16}{'ratio':>8}")
    for label, (codec, start, make_frame, kind) in _setups().items():
        codec.receive(json.dumps(start))
        frames = [make_frame(i) for i in range(COUNT)]
        receive = codec.receive

        def parse(frames: list[Any] = frames, receive: Callable[[Any], Any] = receive) -> None:
            for f in frames:
                receive(f)

        floor_min, floor_med = _per_frame_us(_floor(kind, frames), len(frames))
        codec_min, codec_med = _per_frame_us(parse, len(frames))
        ratio = codec_min / floor_min
        print(
            f"{label:<24}{floor_min:>8.2f} /{floor_med:>6.2f}{codec_min:>8.2f} /{codec_med:>6.2f}{ratio:>7.2f}x"
        )
        results[label] = {"floor_us": floor_min, "codec_us": codec_min, "ratio": ratio}
    print(
        "floor: json.loads + base64 (JSON providers), json.loads + array (KooKoo), bytes() (Vonage)"
    )
    return results


if __name__ == "__main__":
    main()
