"""``trio-plivo serve APP --answer``: one process, one port, signatures from the environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import trio
from web_helpers import FORM, TOKEN, request

from trio_plivo.cli import main
from trio_plivo.signatures import signature_headers


@pytest.fixture
def answer_server():
    """``trio-plivo serve echo --answer --port 0`` with PLIVO_AUTH_TOKEN set; yields
    (process, port)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trio_plivo",
            "serve",
            "echo",
            "--answer",
            "--port",
            "0",
            "--content-type",
            "audio/x-l16;rate=16000",
            "--shutdown-grace",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PLIVO_AUTH_TOKEN": TOKEN},
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:"), line
        port = int(line.removeprefix("listening on http://127.0.0.1:").split()[0])
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_serve_answer_signed_then_simulate_signed(answer_server, monkeypatch, capsys) -> None:
    proc, port = answer_server
    answer_url = f"http://127.0.0.1:{port}/answer"
    signed = signature_headers(answer_url, TOKEN, params=FORM)
    answer = trio.run(lambda: request(port, "POST", "/answer", headers=signed, form=FORM))
    unsigned = trio.run(lambda: request(port, "POST", "/answer", form=FORM))
    health = trio.run(lambda: request(port, "GET", "/healthz"))
    assert answer.status == 200
    stream = answer.stream()
    assert stream.attrib["contentType"] == "audio/x-l16;rate=16000"
    assert unsigned.status == 403
    assert json.loads(health.body)["status"] == "ok"

    # simulate signs the upgrade with the same token from the environment
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", TOKEN)
    code = main(["simulate", stream.text, "--duration", "0.5", "--format", "l16-16k", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["counts"]["play_audio_received"] == 25

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert TOKEN not in proc.stderr.read()  # never logged


def test_bad_answer_options_exit_2(capsys) -> None:
    assert main(["serve", "echo", "--answer", "--content-type", "audio/wav", "--port", "0"]) == 2
    assert "audio/wav" in capsys.readouterr().err
    assert main(["serve", "echo", "--answer", "--public-url", "ftp://x/stream"]) == 2
