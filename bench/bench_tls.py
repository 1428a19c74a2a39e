"""What TLS costs per frame: ``trio-plivo serve echo`` over ``ws://`` and over ``wss://``.

Providers only dial ``wss://``, so a server without a TLS-terminating proxy
(``serve --certfile/--keyfile``) pays for encryption on every 20 ms frame, both ways. Both
servers run in the same run, alternating, with the same traffic (the Node.js generator of
``bench/bench_capacity.py``: real-time simulated Plivo callers, server pinned to core 0,
generator on core 1; one Python generator core cannot do TLS for 100 callers and keep its
schedule); the ``wss://`` one with a throwaway certificate from ``trustme`` that the
generator's callers verify.

Reported per call count: server CPU µs per echoed frame over plain TCP and over TLS in the
measured window (handshakes are before it), median and spread over the repeats, and the ratio.

    python -m bench tls                                  # as nox -s bench runs it
    python -m bench.bench_tls --calls 10 --repeats 1 --duration 2   # a smoke run
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import trustme

from bench.bench_capacity import Point, run_point

SERVE = f"{sys.executable} -m trio_plivo serve echo --port {{port}}"


def _write_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1: (CA, certificate chain, key) PEMs."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cafile, certfile, keyfile = (directory / name for name in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(cafile))
    cert.private_key_pem.write_to_path(str(keyfile))
    certfile.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    return cafile, certfile, keyfile


def main(
    calls: Sequence[int] = (100, 200), *, repeats: int = 2, duration: float = 5.0
) -> dict[tuple[str, int], list[Point]]:
    """Each call count against both servers, ``repeats`` alternating rounds; print the cost."""
    if shutil.which("node") is None or shutil.which("taskset") is None:
        print("bench_tls needs node and taskset; skipped")
        return {}
    results: dict[tuple[str, int], list[Point]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as temp:
        cafile, certfile, keyfile = _write_certificate(Path(temp))
        servers = {
            "ws://": (SERVE, None),
            "wss://": (f"{SERVE} --certfile {certfile} --keyfile {keyfile}", str(cafile)),
        }
        for count in calls:
            for _ in range(repeats):
                for label, (command, ca) in servers.items():
                    point = run_point(
                        command, count, duration=duration, ramp=2.0, settle=1.0, cafile=ca
                    )
                    results.setdefault((label, count), []).append(point)
                    print(
                        f"  {label:<7} {count:4d} calls: {point.cpu_us:6.1f} µs/frame  "
                        f"p99 {point.rtt(99) * 1e3:7.1f} ms  lost {point.lost}  "
                        f"other {point.other_share:4.0%}"
                        + (f"  errors {point.errors}" if point.errors else ""),
                        flush=True,
                    )
    print("\nserver CPU per echoed frame, plain TCP against TLS (same run, median (min-max)):")
    for count in calls:
        plain = [p.cpu_us for p in results[("ws://", count)]]
        tls = [p.cpu_us for p in results[("wss://", count)]]
        ratio = statistics.median(tls) / statistics.median(plain)
        print(
            f"  {count:4d} calls: ws:// {statistics.median(plain):5.1f} "
            f"({min(plain):.1f}-{max(plain):.1f}) µs  wss:// {statistics.median(tls):5.1f} "
            f"({min(tls):.1f}-{max(tls):.1f}) µs  TLS {ratio:4.2f}x",
            flush=True,
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bench_tls", description=__doc__)
    parser.add_argument("--calls", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    main(args.calls, repeats=args.repeats, duration=args.duration)
