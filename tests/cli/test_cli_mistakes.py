"""The first hour's mistakes, each one actionable line and an exit code (issue #16, items 1
and 5; #15, item 9): 2 for a usage error, 1 for a failure, never a traceback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from processes import running_until

TOKEN = "first-hour-auth-token-12345"
SERVE_ECHO = [sys.executable, "-m", "trio_plivo", "serve", "echo", "--port", "0"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trio_plivo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The last line of stderr, after checking that nothing was a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


@contextmanager
def serving(*options: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """``trio-plivo serve echo --port 0 OPTIONS``; yields its port."""
    args = ("serve", "echo", "--port", "0", *options)
    with running_until(r"listening on \w+://[^:]+:(\d+)", *args, env=env) as (_, found):
        yield int(found.group(1))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serving_on_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "echo", "--port", str(port))
    assert result.returncode == 1
    assert one_line(result) == (
        f"trio-plivo: port {port} is in use: stop what is listening there, or pass --port 0"
    )


@pytest.mark.parametrize("command", ["simulate", "loadtest"])
def test_nothing_listening(command: str) -> None:
    url = f"ws://127.0.0.1:{free_port()}/stream"
    extra = ["--calls", "1", "--duration", "0.5"] if command == "loadtest" else []
    result = cli(command, url, *extra)
    assert result.returncode == 1
    assert one_line(result) == (
        f"trio-plivo: nothing is listening at {url}: is the server running on that port?"
    )


def test_an_unknown_host() -> None:
    result = cli("simulate", "ws://no-such-host.invalid:8000/stream")
    assert result.returncode == 1
    assert one_line(result).startswith("trio-plivo: cannot find host 'no-such-host.invalid'")


@pytest.mark.parametrize("command", ["simulate", "loadtest", "connect"])
def test_a_port_out_of_range_in_the_url_is_a_usage_error(command: str) -> None:
    extra = {"connect": ["echo"], "loadtest": ["--calls", "1"]}.get(command, [])
    result = cli(command, "ws://127.0.0.1:99999/stream", *extra)
    assert result.returncode == 2
    assert one_line(result) == "trio-plivo: 'ws://127.0.0.1:99999/stream': the port must be 0-65535"


def test_not_a_websocket_url() -> None:
    result = cli("simulate", "http://127.0.0.1:8000/stream")
    assert result.returncode == 2
    assert "is not a WebSocket URL: use ws://HOST:PORT/PATH" in one_line(result)


def test_the_wrong_path_and_a_signed_server() -> None:
    with serving(env={"PLIVO_AUTH_TOKEN": TOKEN}) as port:
        wrong_path = cli("simulate", f"ws://127.0.0.1:{port}/audio")
        unsigned = cli("simulate", f"ws://127.0.0.1:{port}/stream", env={"PLIVO_AUTH_TOKEN": ""})
        signed = cli(
            "simulate", f"ws://127.0.0.1:{port}/stream", "--duration", "1", "--auth-token", TOKEN
        )
    assert wrong_path.returncode == 1
    assert one_line(wrong_path) == (
        "trio-plivo: the server has no stream at '/audio' (404): is the path /stream?"
    )
    assert unsigned.returncode == 1
    assert "checks signatures" in one_line(unsigned)
    assert "--auth-token or set $PLIVO_AUTH_TOKEN" in one_line(unsigned)
    assert signed.returncode == 0, signed.stderr
    assert TOKEN not in signed.stdout + signed.stderr


def test_a_server_pinned_to_plivo_refuses_twilio_and_says_why() -> None:
    with serving("--provider", "plivo") as port:
        url = f"ws://127.0.0.1:{port}/stream"
        simulated = cli("simulate", url, "--provider", "twilio", "--duration", "1")
        loaded = cli("loadtest", url, "--provider", "twilio", "--calls", "2", "--duration", "1")
    assert simulated.returncode == 1
    assert one_line(simulated) == (
        "trio-plivo: the server refused the twilio stream (not a plivo stream opening (serve "
        "--provider auto detects it)): is it serving --provider auto or --provider twilio?"
    )
    assert loaded.returncode == 1
    assert "failed 2" in loaded.stdout
    assert "refused by the server (1008: not a plivo stream opening" in loaded.stdout


def test_serve_detects_the_provider_by_default() -> None:
    with serving() as port:
        url = f"ws://127.0.0.1:{port}/stream"
        twilio = cli("simulate", url, "--provider", "twilio", "--duration", "1")
        plivo = cli("simulate", url, "--duration", "1")
    assert twilio.returncode == 0, twilio.stderr
    assert plivo.returncode == 0, plivo.stderr
    assert "received 0 playAudio" not in twilio.stdout  # the echo answered


def test_demo_agent_prints_the_conversation() -> None:
    result = cli("demo", "agent")
    assert result.returncode == 0, result.stderr
    assert "caller: (key 1)" in result.stderr and "caller: (key 9)" in result.stderr
    assert "agent: Hello! This is the trio plivo demo agent." in result.stderr
    assert "[cut off; not heard:" in result.stderr  # key 1 barged in on the greeting
    assert "agent: Thank you for calling. Goodbye!" in result.stderr


def test_control_refuses_to_start_without_a_token() -> None:
    env = {"TRIO_PLIVO_CONTROL_TOKEN": ""}
    result = cli("serve", "echo", "--port", "0", "--control", env=env)
    assert result.returncode == 2
    assert one_line(result) == (
        "trio-plivo: --control needs a bearer token: set $TRIO_PLIVO_CONTROL_TOKEN or pass "
        "--control-token-file FILE"
    )
    several = cli(
        "serve", "echo", "--control", "--workers", "2", env={"TRIO_PLIVO_CONTROL_TOKEN": TOKEN * 2}
    )
    assert several.returncode == 2
    assert "--control with several workers needs --registry redis://" in one_line(several)


def test_control_serves_calls_with_the_token_from_the_environment() -> None:
    import httpx

    secret = "control-token-from-the-environment"
    with serving("--control", env={"TRIO_PLIVO_CONTROL_TOKEN": secret}) as port:
        base = f"http://127.0.0.1:{port}"
        listed = httpx.get(f"{base}/calls", headers={"Authorization": f"Bearer {secret}"})
        refused = httpx.get(f"{base}/calls")
    assert listed.status_code == 200 and listed.json() == {"calls": []}
    assert refused.status_code == 401


def test_debug_logging_says_what_happened_and_keeps_secrets_out() -> None:
    """``--log-level debug`` shows handshake decisions, call lifetime and refusals with their
    reason (issue #15, defect 5); no token and no signature reaches the log."""
    import signal as signals
    import subprocess as sp

    token = "debug-log-auth-token-9f8e7d6c"
    proc = sp.Popen(
        [*SERVE_ECHO, "--answer", "--log-level", "debug"],
        stdout=sp.PIPE,
        stderr=sp.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PLIVO_AUTH_TOKEN": token},
    )
    assert proc.stdout is not None and proc.stderr is not None
    port = re.search(r":(\d+) ", proc.stdout.readline())
    assert port
    url = f"ws://127.0.0.1:{port.group(1)}/stream"
    signed = cli("simulate", url, "--duration", "1", "--auth-token", token)
    unsigned = cli("simulate", url, "--duration", "1", env={"PLIVO_AUTH_TOKEN": ""})
    proc.send_signal(signals.SIGINT)
    _, log = proc.communicate(timeout=20)
    assert signed.returncode == 0 and unsigned.returncode == 1
    assert "DEBUG trio_plivo.server: upgrading /stream" in log
    assert "DEBUG trio_plivo.server: refused GET /stream" in log and "403 invalid signature" in log
    assert "DEBUG trio_plivo.call: call " in log and "plivo stream, audio/x-mulaw;rate=8000" in log
    assert "stop from the provider" in log or "ended (code" in log
    assert token not in log
    assert "Signature-V3:" not in log and "X-Plivo-Signature-V3" not in log
