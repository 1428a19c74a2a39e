"""FakePlivo over a real WebSocket on loopback, as Plivo connects (Plivo is the client).

Real sockets need the real clock, so the calls here last a few 20 ms frames only.
"""

from __future__ import annotations

import orjson
import trio

from trio_plivo import ConnectionClosed
from trio_plivo.testing import CallReport, FakePlivo, Faults
from trio_plivo.ws import WebSocket, accept_websocket


async def _serve_one(
    task_status: trio.TaskStatus[int], *, seen: list[str], close_codes: list[int | None]
) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    task_status.started(port)
    stream = await listeners[0].accept()
    await listeners[0].aclose()
    ws = await accept_websocket(stream)
    assert isinstance(ws, WebSocket)
    try:
        while True:
            seen.append(orjson.loads(await ws.receive_message())["event"])
    except ConnectionClosed as exc:
        close_codes.append(exc.code)
    finally:
        await ws.aclose()


async def _run_against_a_recording_server(
    fake: FakePlivo,
) -> tuple[CallReport, list[str], list[int | None]]:
    """Run ``fake`` against a one-connection server; also give the events it received and
    the close codes it saw."""
    seen: list[str] = []
    codes: list[int | None] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                lambda task_status: _serve_one(task_status, seen=seen, close_codes=codes)
            )
            report = await fake.run_url(f"ws://127.0.0.1:{port}/stream")
    return report, seen, codes


async def test_run_url_streams_to_a_websocket_server() -> None:
    report, seen, codes = await _run_against_a_recording_server(
        FakePlivo(duration=0.06, end="stop", stop_linger=0.02)
    )
    assert seen == ["start", "media", "media", "media", "stop"]
    assert codes == [1000]
    assert report.counts.media_sent == 3
    assert (report.close.by, report.close.code) == ("plivo", 1000)


async def test_injected_disconnect_drops_a_real_socket_without_a_close_frame() -> None:
    report, seen, codes = await _run_against_a_recording_server(
        FakePlivo(duration=1.0, faults=Faults(disconnect_at=0.03))
    )
    assert codes == [1006]
    assert report.close.code == 1006
    assert "stop" not in seen
