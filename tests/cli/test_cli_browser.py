"""``serve APP --browser`` and ``demo browser``: the page on the same port, guarded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from processes import running_until

from trio_plivo.ws import WebSocketHandshakeError

TOKEN = "browser-token-from-a-file-7d1e"


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run the CLI until it prints the page's URL; yield the process and the URL."""
    with running_until(r"at (http://localhost:\d+/talk)", *args) as (proc, found):
        yield proc, found.group(1)


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serve_browser_prints_the_page_url_and_serves_it() -> None:
    with running("serve", "echo", "--browser", "--port", "0") as (proc, url):
        status, page = fetch(url)
        assert status == 200 and "<title>" in page
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_a_token_from_a_file_guards_the_browser_socket(tmp_path: Path) -> None:
    import trio

    from trio_plivo.ws import connect_websocket

    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    args = ("serve", "echo", "--browser", "--browser-token-file", str(token_file), "--port", "0")
    with running(*args) as (proc, url):
        ws_url = url.replace("http://localhost", "ws://127.0.0.1") + "/ws"

        async def refused_then_accepted() -> int | None:
            try:
                await connect_websocket(ws_url)
            except WebSocketHandshakeError as error:
                refused = error.status_code
            ws = await connect_websocket(f"{ws_url}?token={TOKEN}")
            await ws.aclose()
            return refused

        assert trio.run(refused_then_accepted) == 401
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        assert proc.stderr is not None
        assert TOKEN not in proc.stderr.read()


def test_a_public_host_without_a_token_is_refused_at_start_up() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trio_plivo", "serve", "echo", "--browser", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "TRIO_PLIVO_BROWSER_TOKEN"},
        check=False,
    )
    assert result.returncode == 2
    assert "--browser on --host 0.0.0.0 needs a token" in result.stderr
    assert "Traceback" not in result.stderr


def test_browser_options_without_browser_are_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trio_plivo", "serve", "echo", "--browser-public"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--browser-public and --browser-token-file go with --browser" in result.stderr


def test_demo_browser_serves_the_offline_agent_and_stops_on_ctrl_c() -> None:
    import trio

    from trio_plivo.ws import connect_websocket

    with running("demo", "browser", "--port", "0") as (proc, url):
        status, page = fetch(url)
        assert status == 200 and "<title>" in page

        async def first_line_of_the_agent() -> dict[str, str]:
            ws_url = url.replace("http://localhost", "ws://127.0.0.1") + "/ws"
            ws = await connect_websocket(ws_url)
            await ws.send_message(json.dumps({"type": "start", "sampleRate": 16000}))
            with trio.fail_after(20):
                while isinstance(message := await ws.receive_message(), bytes):
                    pass  # the greeting's audio
            await ws.aclose()
            line: dict[str, str] = json.loads(message)
            return line

        assert trio.run(first_line_of_the_agent) == {"type": "assistantMessage", "text": "Hello!"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
