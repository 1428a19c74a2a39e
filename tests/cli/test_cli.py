"""The trio-plivo command: serve, simulate and demo, end to end on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from trio_plivo.cli import main


def _serve_echo(*options: str):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trio_plivo",
            "serve",
            "echo",
            "--port",
            "0",
            "--shutdown-grace",
            "2",
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on ws://127.0.0.1:"), line
        yield proc, line.removeprefix("listening on ")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


@pytest.fixture
def echo_server():
    """``trio-plivo serve echo --port 0`` in a subprocess; yields (process, url)."""
    yield from _serve_echo()


@pytest.fixture
def auto_echo_server():
    """The same with ``--provider auto``: any provider's stream is recognised."""
    yield from _serve_echo("--provider", "auto")


def test_serve_then_simulate_then_sigterm(echo_server, capsys) -> None:
    proc, url = echo_server
    assert url.endswith("/stream")
    code = main(["simulate", url, "--duration", "1", "--dtmf", "5@0.5", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["violations"] == []
    assert report["counts"]["media_sent"] == 50
    assert report["counts"]["play_audio_received"] == 50  # every frame echoed
    assert [c["name"] for c in report["checkpoints"]] == ["dtmf-5"]
    assert report["checkpoints"][0]["outcome"] == "played"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    log = proc.stderr.read()
    assert "started" in log
    assert "ended" in log
    assert "SIGTERM: shutting down" in log


def test_simulate_human_output_and_recording(echo_server, capsys, tmp_path) -> None:
    _, url = echo_server
    heard = tmp_path / "heard.wav"
    code = main(
        ["simulate", url, "--duration", "0.5", "--format", "l16-16k", "--record", str(heard)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "audio/x-l16;rate=16000" in out
    assert "protocol violations: 0" in out
    assert heard.stat().st_size > 16000  # 0.5 s of 16 kHz PCM16 echoed back


def test_demo_prints_a_report(capsys) -> None:
    assert main(["demo", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checkpoints"][0]["name"] == "dtmf-5"
    assert report["checkpoints"][0]["outcome"] == "played"
    assert len(report["clears"]) == 1
    assert report["violations"] == []


def test_unknown_app_is_a_clear_error(capsys) -> None:
    assert main(["serve", "no-such-app"]) == 2
    assert "unknown app" in capsys.readouterr().err


def test_simulate_every_kind_of_provider_through_the_cli(auto_echo_server) -> None:
    """``trio-plivo simulate --provider X --json`` as a user runs it, against one server."""
    proc, url = auto_echo_server
    # Twilio-shaped JSON, Vonage's binary frames and KooKoo's sample arrays with in-band DTMF.
    providers = ["twilio", "vonage", "kookoo"]
    sims = {
        provider: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trio_plivo",
                "simulate",
                url,
                "--provider",
                provider,
                "--duration",
                "1.6",
                "--dtmf",
                "5@0.5",
                "*@1.1",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for provider in providers
    }
    reports = {}
    for provider, sim in sims.items():
        out, err = sim.communicate(timeout=60)
        assert sim.returncode == 0, err
        reports[provider] = json.loads(out)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    log = proc.stderr.read()
    for provider, report in reports.items():
        assert report["provider"] == provider
        assert report["violations"] == []
        assert report["counts"]["play_audio_received"] > 0  # the audio was echoed
        assert report["counts"]["clears_received"] == 1
        assert f"call {report['call_id']}: mark dtmf-5 played" in log
        assert f"call {report['call_id']}: cleared playback" in log
    assert [c["name"] for c in reports["twilio"]["checkpoints"]] == ["dtmf-5"]
    assert reports["vonage"]["format"] == "audio/x-l16;rate=16000"


def test_simulate_refuses_a_format_the_provider_does_not_stream(capsys) -> None:
    assert (
        main(["simulate", "ws://127.0.0.1:9/stream", "--provider", "twilio", "--format", "l16-16k"])
        == 2
    )
    assert "Twilio streams µ-law 8 kHz" in capsys.readouterr().err


def test_loadtest_as_another_provider_through_the_cli(auto_echo_server, capsys) -> None:
    """``trio-plivo loadtest URL --provider vonage --json`` against ``serve echo --provider
    auto``: binary L16 frames echoed and matched, the notify round trip measured, the
    barge-in's clear and stale audio reported."""
    _proc, url = auto_echo_server
    argv = ["loadtest", url, "--provider", "vonage", "--calls", "2", "--duration", "1"]
    code = main([*argv, "--ramp", "0.1", "--barge-in-at", "0.5", "--json"])
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert code == 0, err
    assert data["provider"] == "vonage"
    assert data["calls_ok"] == 2
    assert data["frames_received"] == data["frames_sent"] > 0
    assert data["lost_frames"] == 0 and data["errors"] == {}
    assert data["checkpoint_ms"]["count"] >= 2  # dtmf-5, and dtmf-4 if it played before *
    barge = data["barge_in"]
    assert (barge["at_s"], barge["calls"], barge["clear_missing"]) == (0.5, 2, 0)
    assert barge["clear_ms"]["count"] == barge["stale_ms"]["count"] == 2
    assert barge["stale_ms"]["max"] <= 100 + 20  # at most the lead (serve's 100 ms) + a frame
    assert barge["marks"]["hanging"] == 0


def test_loadtest_refuses_an_unknown_provider(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["loadtest", "ws://127.0.0.1:9/stream", "--calls", "1", "--provider", "skype"])
    assert exc.value.code == 2
    assert "invalid choice: 'skype'" in capsys.readouterr().err
