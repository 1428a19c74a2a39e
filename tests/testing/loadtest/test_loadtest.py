"""``trio-plivo loadtest``: the real-time generator against the echo app, and its statistics."""

from __future__ import annotations

import importlib.util
import json
import math
from collections import Counter

import pytest
import trio
from extras import needs_extra

from trio_plivo.apps import echo
from trio_plivo.call import CallHandler
from trio_plivo.cli import build_parser, main
from trio_plivo.server import StreamServer
from trio_plivo.testing._loadtest import Progress, run_loadtest_async, split
from trio_plivo.testing._loadtest import _generator as _loadtest
from trio_plivo.testing._loadtest._generator import _acknowledge, _Call, media_message
from trio_plivo.testing._loadtest._report import (
    LoadtestResult,
    WorkerReport,
    audible_gaps,
    merge_reports,
    percentile,
)
from trio_plivo.testing._loadtest._wire import CallWire, read_payload_header

#: The ``--json`` schema documented in the README ("Load testing").
JSON_KEYS = {
    "url",
    "provider",
    "calls",
    "processes",
    "duration_s",
    "ramp_s",
    "calls_connected",
    "calls_ok",
    "calls_failed",
    "frames_sent",
    "frames_received",
    "lost_frames",
    "echo",
    "latency_ms",
    "gap_ms",
    "connect_ms",
    "first_audio_ms",
    "checkpoint_ms",
    "barge_in",
    "errors",
    "generator",
}


async def loadtest_against(app: CallHandler, calls: int, duration: float) -> LoadtestResult:
    """Run the load tester against ``StreamServer(app)`` on loopback."""
    server = StreamServer(app)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, "127.0.0.1", 0)
            url = f"ws://127.0.0.1:{server.port}{server.path}"
            result = await run_loadtest_async(url, calls, duration=duration, ramp=0.1, settle=0.2)
            server.shutdown()
    return result


async def test_three_calls_against_the_echo_app() -> None:
    result = await loadtest_against(echo, 3, duration=1.5)
    report = result.report
    assert report.connected == 3
    assert report.calls_ok == 3
    assert report.sent > 3 * 1.5 / 0.02  # at least the measured window, every call
    assert report.received == report.sent  # every frame echoed
    assert result.lost == 0
    assert not report.errors
    assert len(report.first_audio) == 3
    # DTMF 5 mid-call -> the echo app's checkpoint -> acknowledged once per call.
    assert len(report.checkpoints) == 3
    assert all(0 <= c < 1.0 for c in report.checkpoints)
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == JSON_KEYS
    assert data["echo"] is True
    assert data["lost_frames"] == 0
    assert data["calls_ok"] == 3 and data["calls_failed"] == 0
    assert set(data["latency_ms"]) == {"p50", "p95", "p99", "max", "count"}
    assert set(data["gap_ms"]) == {"p50", "p90", "p99", "max", "count"}
    assert set(data["first_audio_ms"]) == {"p50", "p99", "count"}
    assert data["checkpoint_ms"]["count"] == 3
    assert set(data["generator"]) == {"lateness_p99_ms", "lateness_max_ms", "behind"}
    assert "checkpoint ms" in result.format_summary()


class _RecordingWebSocket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_message(self, message: str) -> None:
        self.sent.append(message)


async def test_checkpoint_is_acknowledged_when_its_audio_has_played(autojump_clock) -> None:
    ws = _RecordingWebSocket()
    call = _Call(ws, 1, CallWire("plivo", stream_id="s-1"), 10, [0.0] * 10, [False] * 10, -1)  # type: ignore[arg-type]
    now = trio.current_time()
    call.playout_end = now + 0.3  # 300 ms of received audio still to play
    report = WorkerReport()
    await _acknowledge(call, "dtmf-5", now, report)
    assert report.checkpoints == [pytest.approx(0.3)]
    (message,) = ws.sent
    assert json.loads(message) == {
        "event": "playedStream",
        "sequenceNumber": 1,  # the first message this call's wire numbered
        "streamId": "s-1",
        "name": "dtmf-5",
    }


async def test_checkpoint_after_played_audio_is_acknowledged_at_once(autojump_clock) -> None:
    ws = _RecordingWebSocket()
    call = _Call(ws, 1, CallWire("plivo", stream_id="s-1"), 10, [0.0] * 10, [False] * 10, -1)  # type: ignore[arg-type]
    now = trio.current_time()
    call.playout_end = now - 1.0
    report = WorkerReport()
    await _acknowledge(call, "x", now, report)
    assert report.checkpoints == [0.0]


def test_audible_gaps_subtract_a_frame_floor_at_zero_and_skip_silences() -> None:
    times = [0.0, 0.02, 0.05, 0.06, 1.0, 1.02, 1.52]
    # deltas .02 .03 .01 (.94 silence) .02 (.50 silence)
    assert audible_gaps(times) == pytest.approx([0.0, 0.01, 0.0, 0.0])
    assert audible_gaps([1.0]) == []
    assert audible_gaps([]) == []


def test_percentile_and_empty() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([1.0, 2.0, 3.0], 100) == 3.0
    assert math.isnan(percentile([], 99))


def test_merge_reports_sums_counts_and_joins_samples() -> None:
    a = WorkerReport(calls=2, connected=2, calls_ok=1, sent=10, received=9, rtts=[0.1])
    a.errors["connect"] += 1
    b = WorkerReport(calls=3, connected=3, calls_ok=3, sent=5, received=5, rtts=[0.2, 0.3])
    b.errors.update({"connect": 2, "mismatched": 1})
    b.checkpoints.append(0.05)
    merged = merge_reports([a, b])
    assert (merged.calls, merged.connected, merged.calls_ok) == (5, 5, 4)
    assert (merged.sent, merged.received) == (15, 14)
    assert merged.rtts == [0.1, 0.2, 0.3]
    assert merged.checkpoints == [0.05]
    assert merged.errors == Counter({"connect": 3, "mismatched": 1})
    result = LoadtestResult("ws://x", 5, 1.0, merged)
    assert result.lost == 1
    assert result.connect_errors == 3 and result.mismatched == 1
    assert result.to_dict()["calls_failed"] == 1


def test_no_echo_means_no_latency_and_no_loss() -> None:
    result = LoadtestResult("ws://x", 1, 1.0, WorkerReport(calls=1, calls_ok=1, sent=50))
    data = result.to_dict()
    assert data["echo"] is False
    assert data["latency_ms"] is None
    assert data["lost_frames"] == 0
    assert "does not echo" in result.format_summary()


def test_a_late_generator_is_flagged_prominently() -> None:
    report = WorkerReport(calls=1, calls_ok=1, lateness=[0.001] * 90 + [0.2] * 10)
    result = LoadtestResult("ws://x", 1, 1.0, report)
    assert not result.generator_ok
    assert result.to_dict()["generator"]["behind"] is True
    assert result.format_summary().startswith("!! GENERATOR FELL BEHIND")
    on_time = LoadtestResult("ws://x", 1, 1.0, WorkerReport(lateness=[0.001] * 100))
    assert on_time.to_dict()["generator"]["behind"] is False


def test_payload_header_round_trip_and_audio_length() -> None:
    message = media_message("s", 1234, 70000, 5, sequence=9)
    assert read_payload_header(message) == (1234, 70000 & 0xFFFF)
    assert read_payload_header('{"event":"checkpoint","name":"x"}') is None
    assert CallWire("plivo").audio(message) == (read_payload_header(message), 0.02, None)
    assert json.loads(message)["sequenceNumber"] == 9


def test_split_shares() -> None:
    assert list(split(10, 3)) == [(0, 4), (4, 3), (7, 3)]
    assert list(split(1, 2)) == [(0, 1), (1, 0)]


def test_progress_totals_over_workers() -> None:
    progress = Progress(2)
    assert math.isnan(progress.totals()[3])
    one = WorkerReport(connected=2, live_sent=100, live_received=98)
    two = WorkerReport(connected=1, live_sent=50, live_received=50)
    progress.publish(0, one, [0.0015] * 99 + [0.0405])
    progress.publish(1, two, [])
    connected, sent, received, p99 = progress.totals()
    assert (connected, sent, received) == (3, 150, 148)
    assert p99 == 2.0  # 99 of 100 samples fall in the 1-2 ms bucket
    progress.publish(1, two, [0.5] * 100)
    assert progress.totals()[3] == 501.0


def test_cli_parses_loadtest_options() -> None:
    args = build_parser().parse_args(
        ["loadtest", "ws://h/s", "--calls", "7", "--duration", "3", "--processes", "2", "--json"]
    )
    assert (args.calls, args.duration, args.processes, args.ramp) == (7, 3.0, 2, 1.0)
    assert args.json and args.plot is None
    assert args.provider == "plivo"
    assert (args.barge_in_at, args.no_barge_in) == (2.0, False)
    args = build_parser().parse_args(
        ["loadtest", "ws://h/s", "--calls", "1", "--provider", "kookoo"]
    )
    assert args.provider == "kookoo"


def test_plot_without_matplotlib_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else find_spec(name, *a),
    )
    code = main(["loadtest", "ws://127.0.0.1:9/", "--calls", "1", "--plot", "x.png"])
    assert code == 2
    assert "pip install 'trio-plivo[plot]'" in capsys.readouterr().err


@needs_extra("matplotlib", "plot")
def test_the_plot_labels_its_axes_and_states_the_figures(tmp_path: object, caplog) -> None:
    from trio_plivo.testing._loadtest._plot import build_figure

    report = WorkerReport(
        calls=2,
        connected=2,
        calls_ok=2,
        sent=100,
        received=98,
        rtts=[0.01, 0.02, 0.03],
        gaps=[0.0, 0.0, 0.004, 0.25],
    )
    result = LoadtestResult("ws://x", 2, 5.0, report, provider="twilio")
    figure = build_figure(result)
    title = figure._suptitle.get_text()
    assert title.startswith("twilio: 2 calls, 5 s, 2 frames lost, 2/2 calls ok: PASS")
    echo, gaps, first, checkpoints = figure.axes[:4]
    assert echo.get_xlabel() == "echo latency (ms)" and echo.get_ylabel() == "samples"
    assert gaps.get_yscale() == "log"  # rare long gaps stay visible
    assert "includes the simulated playout" in checkpoints.get_title()
    numbers = " ".join(t.get_text() for t in echo.texts)
    assert "p50 20.0 ms" in numbers and "max 30.0 ms" in numbers
    assert [t.get_text() for t in first.texts] == ["not measured"]
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")]


@needs_extra("matplotlib", "plot")
def test_loadtest_json_names_the_png_it_wrote(
    tmp_path: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import trio_plivo.testing._loadtest as loadtest

    report = WorkerReport(calls=1, connected=1, calls_ok=1, sent=50, received=50, rtts=[0.01])
    monkeypatch.setattr(
        loadtest, "run_loadtest", lambda url, calls, **_: LoadtestResult(url, calls, 1.0, report)
    )
    png = f"{tmp_path}/report.png"
    code = main(["loadtest", "ws://127.0.0.1:9/stream", "--calls", "1", "--plot", png, "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["plot"] == png
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


class _SilentWebSocket(_RecordingWebSocket):
    async def receive_message(self) -> str:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize(("handshake", "late"), [(0.1, False), (2.5, True)])
async def test_a_call_whose_handshake_ends_inside_the_window_is_a_failure(
    autojump_clock, monkeypatch: pytest.MonkeyPatch, handshake: float, late: bool
) -> None:
    # The only call connects 0.2 s in; the measured window opens 2 s later (1 s ramp + 1 s
    # settle). A server slow to complete handshakes must show up as failed calls, not as a
    # quietly smaller load.
    ws = _SilentWebSocket()

    async def slow_connect(url: str, **kwargs: object) -> _SilentWebSocket:
        await trio.sleep(handshake)
        return ws

    monkeypatch.setattr(_loadtest, "connect_websocket", slow_connect)
    job = _loadtest.LoadtestJob("ws://x/stream", 1, duration=1.0, dtmf=None)
    report = await _loadtest.run_worker(job)
    assert report.connected == 1
    assert report.connects == [pytest.approx(handshake)]
    assert report.calls_ok == (0 if late else 1)
    assert report.errors["connected_late"] == (1 if late else 0)


async def _hang_up_after_a_second(call) -> None:  # type: ignore[no-untyped-def]
    with trio.move_on_after(1.0):
        async for _event in call:
            pass


async def test_a_server_hanging_up_mid_call_is_reported_not_raised() -> None:
    # The close reaches the caller inside its receive nursery; it must be counted per call
    # (closed_by_server, frames lost), never crash the whole run.
    result = await loadtest_against(_hang_up_after_a_second, 2, duration=1.0)
    report = result.report
    assert report.connected == 2
    assert report.calls_ok == 0
    assert report.errors["closed_by_server"] == 2


async def test_the_ticker_catches_up_when_run_loop_passes_are_slower_than_a_tick(
    autojump_clock,
) -> None:
    # Every pass of the run loop "costs" 1.5 ms (a busy generator): handling one 1 ms tick
    # per pass would fall further behind forever; every due tick is sent in one pass.
    ws = _RecordingWebSocket()
    frames = 10
    call = _Call(
        ws, 0, CallWire("plivo", stream_id="s"), frames, [0.0] * frames, [False] * frames, -1
    )  # type: ignore[arg-type]
    slots: list[list[_Call]] = [[] for _ in range(_loadtest.SLOTS)]
    slots[0].append(call)
    report = WorkerReport()
    start = trio.current_time()

    async def busy() -> None:
        while True:
            autojump_clock.jump(0.0015)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(busy)
        await _loadtest._ticker(slots, start, start, start + frames * 0.02, report, None)
        nursery.cancel_scope.cancel()
    assert call.sent == frames
    assert max(report.lateness) < 0.004
