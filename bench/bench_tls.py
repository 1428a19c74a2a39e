"""What TLS costs per frame: ``trio-plivo serve echo`` over ``ws://`` and over ``wss://``.

Providers only dial ``wss://``, so a server without a TLS-terminating proxy
(``serve --certfile/--keyfile``) pays for encryption on every 20 ms frame, both ways. Both
servers run in the same run, one after the other, with the same traffic (``bench/loadgen.py``:
real-time simulated Plivo callers, server pinned to core 0, generator on core 1); the ``wss://``
one with a throwaway certificate from ``trustme`` that the generator's callers verify.

Reported per call count: server CPU µs per echoed frame over plain TCP and over TLS, and
their ratio. The TLS figure includes the handshakes (one per call), spread over the run.

    python -m bench tls                                  # as nox -s bench runs it
    python -m bench.bench_tls --step 10 --cap 10 --duration 2   # a smoke run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import trustme

from bench.loadgen import SweepReport, sweep

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


def main(*, step: int = 100, cap: int = 200, duration: float = 3.0) -> dict[str, SweepReport]:
    """Sweep ``step``, ``2 * step`` ... ``cap`` calls against each server; print the cost."""
    reports: dict[str, SweepReport] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as temp:
        cafile, certfile, keyfile = _write_certificate(Path(temp))
        servers = {
            "ws://": (SERVE, None),
            "wss://": (f"{SERVE} --certfile {certfile} --keyfile {keyfile}", str(cafile)),
        }
        for label, (command, ca) in servers.items():
            reports[label] = sweep(
                command,
                label=f"echo app over {label}",
                step=step,
                cap=cap,
                duration=duration,
                retries=1,
                flood_seconds=0.0,  # echo is paced: no flood
                log=False,
                cafile=ca,
            )
            print(reports[label].summary(), flush=True)
    print("\nserver CPU per echoed frame, plain TCP against TLS (same run):")
    plain, tls = ({r.calls: (cpu, r) for r, cpu in reports[k].steps} for k in servers)
    for calls in sorted(set(plain) & set(tls)):
        (plain_us, plain_run), (tls_us, tls_run) = plain[calls], tls[calls]
        untrusted = not (plain_run.trusted and tls_run.trusted)
        print(
            f"  {calls:4d} calls: ws:// {plain_us:6.1f} µs  wss:// {tls_us:6.1f} µs  "
            f"TLS {tls_us / plain_us:4.2f}x (+{tls_us - plain_us:.1f} µs/frame)"
            + ("  [untrusted step: generator late or machine busy]" if untrusted else ""),
            flush=True,
        )
    return reports


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bench_tls", description=__doc__)
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument("--cap", type=int, default=200)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    main(step=args.step, cap=args.cap, duration=args.duration)
