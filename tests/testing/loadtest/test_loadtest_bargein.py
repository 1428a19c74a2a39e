"""``trio-plivo loadtest``: the barge-in (``4`` then ``*`` mid-audio), the stale audio after
the app's clear, the clear's reaction time and the marks in flight; on virtual time against
an in-process server over memory streams."""

from __future__ import annotations

import json
from collections import deque

import pytest
import trio
import trio.testing

from trio_plivo.apps import echo
from trio_plivo.call import Call, CallHandler
from trio_plivo.cli import main
from trio_plivo.protocol import DetectingCodec, Dtmf, Media
from trio_plivo.server import StreamServer
from trio_plivo.testing._loadtest import _generator as _loadtest
from trio_plivo.testing._loadtest import run_loadtest_async
from trio_plivo.testing._loadtest._bargein import BargeIn, barge_in_frame, key_press_frame
from trio_plivo.testing._loadtest._report import LoadtestResult, WorkerReport
from trio_plivo.testing._loadtest._wire import CallWire
from trio_plivo.ws import WebSocket, connect_websocket_stream

#: The bad apps' own backlog: 10 frames of 20 ms.
BACKLOG = 10
STATS = {"p50", "p99", "max", "count"}


async def loadtest_in_memory(
    app: CallHandler,
    monkeypatch: pytest.MonkeyPatch,
    *,
    calls: int = 3,
    barge_in_at: float | None = 0.6,
    provider: str = "plivo",
) -> LoadtestResult:
    """The load tester against ``StreamServer(app)``, each call over a memory stream pair."""
    server = StreamServer(app, codec_factory=DetectingCodec)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:

            async def connect(url: str, **_: object) -> WebSocket:
                client, server_end = trio.testing.memory_stream_pair()
                nursery.start_soon(server.handle_stream, server_end)
                return await connect_websocket_stream(client, "localhost", server.path)

            monkeypatch.setattr(_loadtest, "connect_websocket", connect)
            result = await run_loadtest_async(
                "ws://memory/stream",
                calls,
                duration=1.0,
                ramp=0.1,
                settle=0.2,
                barge_in_at=barge_in_at,
                provider=provider,
            )
            nursery.cancel_scope.cancel()
    return result


async def _late_echo(call: Call, *, clears: bool) -> None:
    """An echo that holds the caller's last ``BACKLOG`` frames itself before playing them:
    on ``*`` it clears the call's playback (``clears``) or nothing, and keeps its backlog
    either way, so old audio goes on playing after the barge-in."""
    backlog: deque[bytes] = deque()
    async for event in call:
        if isinstance(event, Media):
            backlog.append(event.payload)
            if len(backlog) > BACKLOG:
                await call.play(backlog.popleft())
        elif isinstance(event, Dtmf):
            if event.digit != "*":
                await call.mark(f"dtmf-{event.digit}")
            elif clears:
                await call.clear()


async def _ignores_star(call: Call) -> None:
    await _late_echo(call, clears=False)


async def _clears_but_keeps_its_backlog(call: Call) -> None:
    await _late_echo(call, clears=True)


async def test_the_echo_app_clears_at_once_and_plays_no_stale_audio(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await loadtest_in_memory(echo, monkeypatch)
    report = result.report
    assert report.calls_ok == 3 and not report.errors
    assert report.received == report.sent  # the barge-in loses nothing that follows it
    assert report.barge_ins == 3
    assert report.clears_missing == 0
    assert report.stale == [0.0, 0.0, 0.0]
    assert len(report.clear_reactions) == 3
    assert all(0 <= r < 0.02 for r in report.clear_reactions)
    # The dtmf-4 mark: cleared at the provider, or dropped by the app's clear before it went
    # out; never left hanging.
    assert report.barge_in_marks["hanging"] == 0
    assert len(report.checkpoints) == 3  # the mid-call 5 still round-trips
    barge = result.to_dict()["barge_in"]
    assert barge["at_s"] == 0.6
    assert (barge["calls"], barge["clear_missing"]) == (3, 0)
    assert set(barge["clear_ms"]) == set(barge["stale_ms"]) == STATS
    assert barge["stale_ms"]["max"] == 0.0
    marks = barge["marks"]
    assert marks["resolved"] == marks["in_flight"] == marks["played"] + marks["cleared"]
    assert "stale audio ms" in result.format_summary()


@pytest.mark.parametrize("app", [_ignores_star, _clears_but_keeps_its_backlog])
async def test_old_audio_the_app_still_plays_after_the_press_is_stale(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch, app: CallHandler
) -> None:
    result = await loadtest_in_memory(app, monkeypatch)
    report = result.report
    assert report.barge_ins == 3
    # The ten frames (200 ms) the app still held at the press played after it: with no
    # clear, or after the clear that came at once.
    assert report.stale == [pytest.approx(BACKLOG * 0.02)] * 3
    barge = result.to_dict()["barge_in"]
    assert barge["stale_ms"]["p99"] == pytest.approx(200.0)
    assert barge["marks"]["hanging"] == 0
    if app is _clears_but_keeps_its_backlog:
        assert report.clears_missing == 0
        assert len(report.clear_reactions) == 3
        return
    assert report.clears_missing == 3
    assert barge["clear_missing"] == 3 and barge["clear_ms"] is None
    # The dtmf-4 mark played behind the old audio, nothing cleared it: resolved as played.
    assert barge["marks"] == {
        "in_flight": 3,
        "resolved": 3,
        "played": 3,
        "cleared": 0,
        "hanging": 0,
    }
    assert "clear missing 3" in result.format_summary()


@pytest.mark.parametrize("provider", ["twilio", "vonage"])
async def test_other_providers_barge_in_with_their_own_key_and_clear(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    result = await loadtest_in_memory(echo, monkeypatch, calls=2, provider=provider)
    report = result.report
    assert (report.barge_ins, report.clears_missing) == (2, 0)
    assert report.stale == [0.0, 0.0]
    assert report.barge_in_marks["hanging"] == 0


async def test_no_barge_in_when_turned_off_or_for_kookoo(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = await loadtest_in_memory(echo, monkeypatch, calls=1, barge_in_at=None)
    assert off.report.barge_ins == 0
    assert off.to_dict()["barge_in"] is None
    assert "barge-in           not measured" in off.format_summary()
    kookoo = await loadtest_in_memory(echo, monkeypatch, calls=1, provider="kookoo")
    assert kookoo.barge_in_at is None
    assert kookoo.to_dict()["barge_in"] is None
    # Later than the call allows: on, but no call pressed.
    late = await loadtest_in_memory(echo, monkeypatch, calls=1, barge_in_at=5.0)
    assert late.to_dict()["barge_in"]["calls"] == 0
    assert late.to_dict()["barge_in"]["stale_ms"] is None


class _Replies:
    """The app's messages, read back to back (no checkpoint between them), then nothing."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.sent: list[str | bytes] = []

    async def send_message(self, message: str | bytes) -> None:
        self.sent.append(message)

    async def receive_message(self) -> str:
        if not self.replies:
            await trio.sleep_forever()
        return self.replies.pop(0)


async def test_a_checkpoint_read_just_before_a_clear_is_never_acknowledged(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The checkpoint's acknowledging task starts only after the clear was read: it must
    # still see that clear (Plivo never acknowledges a checkpoint a clear made moot).
    socket = _Replies(
        [
            json.dumps({"event": "checkpoint", "streamId": "s-1", "name": "dtmf-4"}),
            json.dumps({"event": "clearAudio", "streamId": "s-1"}),
        ]
    )
    call = _loadtest._Call(
        socket, 1, CallWire("plivo", stream_id="s-1"), 4, [0.0] * 4, [False] * 4, -1
    )  # type: ignore[arg-type]
    call.barge = BargeIn(frame=2, pressed_at=trio.current_time())
    call.playout_end = trio.current_time() + 0.05
    report = WorkerReport()
    async with trio.open_nursery() as nursery:
        with trio.move_on_after(1.0):
            await _loadtest._receive(call, trio.current_time(), report, nursery)
        nursery.cancel_scope.cancel()
    assert [json.loads(m)["event"] for m in socket.sent] == ["clearedAudio"]
    assert report.checkpoints == []
    assert call.barge.marks == {"dtmf-4": "cleared"}
    assert call.pending_marks == set()


def test_the_barge_in_frame_needs_half_a_second_after_it() -> None:
    assert barge_in_frame(2.0, 200, 20) == 100
    assert barge_in_frame(2.0, 125, 20) == 100
    assert barge_in_frame(2.0, 124, 20) == -1
    assert barge_in_frame(None, 1000, 20) == -1
    assert barge_in_frame(2.0, 100, 100) == 20  # Exotel's 100 ms packets


def test_the_mid_call_key_press_keeps_clear_of_the_barge_in() -> None:
    assert key_press_frame(300, 100, 20) == 150  # after it: unchanged
    assert key_press_frame(300, 200, 20) == 250  # in the second before it: moved after
    assert key_press_frame(300, 151, 20) == 225
    assert key_press_frame(300, 250, 20) == 150  # more than a second before it
    assert key_press_frame(300, -1, 20) == 150


def test_a_mark_neither_played_nor_cleared_is_hanging_and_stale_counts_the_buffer() -> None:
    barge = BargeIn(frame=50)
    barge.checkpoint("before")  # not pressed yet: not in flight
    barge.press(1.0, playout_end=1.05, pending=["a"])
    barge.checkpoint("b")
    barge.old_audio(0.02)
    barge.acknowledged("a")
    report = WorkerReport()
    barge.record(report, echoes=True)
    assert (report.barge_ins, report.clears_missing) == (1, 1)
    assert report.stale == [pytest.approx(0.05 + 0.02)]  # buffered at the press + arrived
    assert report.barge_in_marks == {"played": 1, "hanging": 1}
    # With a clear: only what arrived after it is stale; pending marks are cleared.
    cleared = BargeIn(frame=50)
    cleared.press(1.0, playout_end=1.05, pending=["a"])
    cleared.old_audio(0.02)
    cleared.cleared(1.01)
    cleared.cleared(1.5)  # only the first clear counts
    cleared.old_audio(0.04)
    cleared.checkpoint("after")  # sent after the clear: not the barge-in's
    report = WorkerReport()
    cleared.record(report, echoes=False)
    assert report.clear_reactions == [pytest.approx(0.01)]
    assert report.stale == []  # no echo: the stale audio is unknown
    assert cleared.stale_s == pytest.approx(0.04)
    assert report.barge_in_marks == {"cleared": 1}
    not_pressed = WorkerReport()
    BargeIn(frame=50).record(not_pressed, echoes=True)
    assert not_pressed.barge_ins == 0 and not_pressed.stale == []


def test_the_cli_takes_the_barge_in_time_or_turns_it_off(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import trio_plivo.testing._loadtest as loadtest

    asked: list[float | None] = []

    def fake_run(url: str, calls: int, **options: object) -> LoadtestResult:
        at = options["barge_in_at"]
        assert at is None or isinstance(at, float)
        asked.append(at)
        report = WorkerReport(calls=1, connected=1, calls_ok=1, barge_ins=1, stale=[0.0])
        return LoadtestResult(url, calls, 1.0, report, barge_in_at=at)

    monkeypatch.setattr(loadtest, "run_loadtest", fake_run)
    argv = ["loadtest", "ws://127.0.0.1:9/stream", "--calls", "1", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["barge_in"]["at_s"] == 2.0
    assert main([*argv, "--barge-in-at", "3.5"]) == 0
    assert json.loads(capsys.readouterr().out)["barge_in"]["stale_ms"]["max"] == 0.0
    assert main([*argv, "--no-barge-in"]) == 0
    assert json.loads(capsys.readouterr().out)["barge_in"] is None
    assert asked == [2.0, 3.5, None]
    assert main([*argv, "--barge-in-at", "0"]) == 2
    assert "--barge-in-at must be > 0" in capsys.readouterr().err
