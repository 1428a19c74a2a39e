"""wss:// without a proxy (issue #15, item 14): the server speaks TLS itself, a verifying
client completes a call, and a renewed certificate is picked up on SIGHUP without dropping
the call in progress."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import trustme

from trio_plivo.apps import echo
from trio_plivo.server import StreamServer
from trio_plivo.testing import CallerAudio, FakePlivo
from trio_plivo.ws import WebSocketHandshakeError, connect_websocket

SERVE = [sys.executable, "-m", "trio_plivo", "serve", "echo", "--port", "0"]


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


async def test_a_verifying_client_talks_to_the_tls_server() -> None:
    ca = trustme.CA()
    client = ssl.create_default_context()
    ca.configure_trust(client)
    server = StreamServer(echo, ssl_context=server_context(ca))
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, "127.0.0.1", 0)
            url = f"wss://127.0.0.1:{server.port}/stream"
            ws = await connect_websocket(url, ssl_context=client)
            await ws.aclose()
            # A client that does not trust the certificate fails the handshake.
            with pytest.raises((WebSocketHandshakeError, OSError, trio.BrokenResourceError)):
                await connect_websocket(url, ssl_context=ssl.create_default_context())
            server.shutdown()
    assert server.total_calls == 1  # the trusting client only


def _write_pem(ca: trustme.CA, directory: Path) -> tuple[Path, Path]:
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    cert.private_key_pem.write_to_path(str(keyfile))
    with open(certfile, "wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    return certfile, keyfile


async def test_serve_certfile_rotates_on_sighup_without_dropping_a_call(tmp_path: Path) -> None:
    old_ca, new_ca = trustme.CA(), trustme.CA()
    certfile, keyfile = _write_pem(old_ca, tmp_path)
    proc = _start([*SERVE, "--certfile", str(certfile), "--keyfile", str(keyfile)])
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        match = re.search(r"listening on wss://[^:]+:(\d+)/stream", line)
        assert match, line
        url = f"wss://127.0.0.1:{match.group(1)}/stream"
        trusts_old, trusts_new = ssl.create_default_context(), ssl.create_default_context()
        old_ca.configure_trust(trusts_old)
        new_ca.configure_trust(trusts_new)
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                reports = []

                async def long_call() -> None:
                    ws = await connect_websocket(url, ssl_context=trusts_old)
                    connected.set()
                    reports.append(await FakePlivo(audio=CallerAudio.silence(3)).run_on(ws))

                connected = trio.Event()
                nursery.start_soon(long_call)
                await connected.wait()
                _write_pem(new_ca, tmp_path)  # the renewed certificate, same paths
                proc.send_signal(signal.SIGHUP)
                await _until_trusted(url, trusts_new)  # polled: the reload is asynchronous
        (report,) = reports
        assert report.close.code == 1000 and report.counts.play_audio_received > 100
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        proc.stdout.close()


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def _until_trusted(url: str, client: ssl.SSLContext) -> None:
    while True:
        try:
            renewed = await connect_websocket(url, ssl_context=client)
        except (WebSocketHandshakeError, OSError, trio.BrokenResourceError):
            await trio.sleep(0.05)
            continue
        await renewed.aclose()
        return
