"""Per-frame cost of parsing an inbound Plivo ``media`` message.

Compares ``PlivoCodec.receive`` (JSON parse + base64 decode + event construction + state
checks) against the floor of ``json.loads`` + ``base64.b64decode`` on the same frames,
measured in the same run. Also reports the cattrs converter path on the same messages, which
is what the fast path avoids.

Run: ``python -m bench protocol`` (or ``nox -s bench -- protocol``).
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import timeit
from collections.abc import Callable

from trio_plivo.protocol import PlivoCodec
from trio_plivo.protocol._converter import structure_inbound
from trio_plivo.protocol._events import Media

FORMATS = {"mulaw8k (160 B)": 160, "l16-16k (640 B)": 640}


def _frames(payload_bytes: int, count: int = 500) -> list[str]:
    return [
        json.dumps(
            {
                "event": "media",
                "sequenceNumber": i + 2,
                "streamId": "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655",
                "media": {
                    "track": "inbound",
                    "timestamp": str(1733912345678 + 20 * i),
                    "chunk": i + 1,
                    "payload": base64.b64encode(os.urandom(payload_bytes)).decode(),
                },
                "extra_headers": "tenant=acme;lead=42",
            }
        )
        for i in range(count)
    ]


def _per_frame_us(fn: Callable[[], None], frames: int, repeat: int = 7) -> tuple[float, float]:
    times = timeit.repeat(fn, number=20, repeat=repeat)
    per = [t / (20 * frames) * 1e6 for t in times]
    return min(per), statistics.median(per)


def _candidates(
    frames: list[str], codec: PlivoCodec
) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None]]:
    def floor() -> None:
        for f in frames:
            base64.b64decode(json.loads(f)["media"]["payload"])

    def fast() -> None:
        receive = codec.receive
        for f in frames:
            receive(f)

    def via_cattrs() -> None:
        for f in frames:
            structure_inbound(json.loads(f), Media)

    return floor, fast, via_cattrs


def main() -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    print("Inbound media parse cost per frame (µs; min / median of 7 runs)")
    print(f"{'format':<18}{'floor json+b64':>18}{'PlivoCodec':>16}{'cattrs path':>16}{'ratio':>8}")
    for label, size in FORMATS.items():
        frames = _frames(size)
        codec = PlivoCodec()
        codec.receive(
            json.dumps(
                {
                    "event": "start",
                    "sequenceNumber": 1,
                    "start": {
                        "callId": "c",
                        "streamId": "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655",
                        "accountId": "MA",
                        "tracks": ["inbound"],
                        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
                    },
                }
            )
        )

        floor, fast, via_cattrs = _candidates(frames, codec)
        floor_min, floor_med = _per_frame_us(floor, len(frames))
        fast_min, fast_med = _per_frame_us(fast, len(frames))
        cattrs_min, cattrs_med = _per_frame_us(via_cattrs, len(frames))
        ratio = fast_min / floor_min
        print(
            f"{label:<18}{floor_min:>9.2f} /{floor_med:>6.2f}{fast_min:>8.2f} /{fast_med:>6.2f}"
            f"{cattrs_min:>8.2f} /{cattrs_med:>6.2f}{ratio:>7.2f}x"
        )
        results[label] = {
            "floor_us": floor_min,
            "codec_us": fast_min,
            "cattrs_us": cattrs_min,
            "ratio": ratio,
        }
    print("target: codec <= 2.0x the floor")
    return results


if __name__ == "__main__":
    main()
