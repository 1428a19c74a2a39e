"""``trio-plivo loadtest --provider X``: every provider's callers against one auto-detecting
echo server, and the per-provider builders and reply parser (sans-IO)."""

from __future__ import annotations

import base64
import json
import logging

import orjson
import pytest
import trio

from trio_plivo.apps import echo
from trio_plivo.protocol import DetectingCodec
from trio_plivo.server import StreamServer
from trio_plivo.testing._loadtest import _generator as _loadtest
from trio_plivo.testing._loadtest import frame_payload, run_loadtest_async
from trio_plivo.testing._loadtest._generator import _Call, _clear, _receive
from trio_plivo.testing._loadtest._report import WorkerReport
from trio_plivo.testing._loadtest._wire import HEADER, CallWire, Control
from trio_plivo.testing._simulator._providers import PHONE_PROVIDERS

PROVIDERS = list(PHONE_PROVIDERS)
#: What each provider's callers send: packet length and payload bytes per packet.
PACKETS = {
    "plivo": (20, 160),
    "twilio": (20, 160),
    "signalwire": (20, 160),
    "exotel": (100, 1600),
    "telnyx": (20, 160),
    "vonage": (20, 640),
    "kookoo": (10, 160),
}


@pytest.fixture
async def auto_echo_url(nursery: trio.Nursery) -> str:
    server = StreamServer(echo, codec_factory=DetectingCodec)
    await nursery.start(server.serve, "127.0.0.1", 0)
    return f"ws://127.0.0.1:{server.port}{server.path}"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_frame_is_echoed_and_matched(
    auto_echo_url: str, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two calls for ~1 s: the echo app's replies carry the header of the frame they echo
    (same format and packet size both ways), and checkpoints round-trip where the provider
    has key press events (all but KooKoo)."""
    caplog.set_level(logging.INFO, logger="trio_plivo.apps.echo")
    with trio.fail_after(20):
        result = await run_loadtest_async(
            auto_echo_url, 2, duration=0.8, ramp=0.05, settle=0.1, provider=provider
        )
    report = result.report
    frame_ms = PACKETS[provider][0]
    assert report.calls_ok == 2
    assert report.sent >= 2 * 0.8 * 1000 / frame_ms
    assert report.received == report.sent
    assert result.lost == 0
    assert not report.errors
    assert len(report.first_audio) == 2
    data = result.to_dict()
    assert data["provider"] == provider
    # The server's side of the same checkpoints: the echo app logs each mark's outcome.
    outcomes = [r.getMessage() for r in caplog.records if r.name == "trio_plivo.apps.echo"]
    if provider == "kookoo":
        # No key pressed, and none heard in the frames' headers by the in-band detector.
        assert outcomes == []
        assert report.checkpoints == []
        assert result.key_presses is False
        assert "not measured" in result.format_summary()
    else:
        assert len(report.checkpoints) == 2
        assert len(outcomes) == 2 and all("dtmf-5 played" in o for o in outcomes)
        assert all(0 <= c < 1.0 for c in report.checkpoints)
        assert result.key_presses is True


async def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(Exception, match="cannot be provider 'skype'"):
        await run_loadtest_async("ws://127.0.0.1:9/", 1, provider="skype")


# ------------------------------------------------------------------------- sans-IO


def _payload(provider: str, message: str | bytes) -> bytes:
    """The audio bytes of one of the callers' media messages, decoded the slow way."""
    if isinstance(message, bytes):
        return message
    data = json.loads(message)
    if "data" in data:
        return b"".join(s.to_bytes(2, "little", signed=True) for s in data["data"]["samples"])
    return base64.b64decode(data["media"]["payload"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_media_carries_the_header_in_the_provider_packet(provider: str) -> None:
    wire = CallWire(provider, timestamp_origin_ms=1_000_000)
    frame_ms, size = PACKETS[provider]
    assert wire.frame_ms == frame_ms
    first = wire.media(0, 7, 0)
    message = wire.media(41, 70_000, 41 * frame_ms)
    payload = _payload(provider, message)
    assert len(payload) == size
    assert HEADER.unpack(payload[:6]) == (41, 70_000 & 0xFFFF)
    assert set(payload[6:]) == {0xFF if wire.format.encoding.name == "MULAW" else 0}
    # Read back cheaply, as the app's echo would be.
    assert wire.audio(message) == ((41, 70_000 & 0xFFFF), frame_ms / 1000, None)
    assert wire.audio(first) == ((0, 7), frame_ms / 1000, None)
    if isinstance(message, str):
        data = json.loads(message)
        media = data.get("media", {})
        if "chunk" in media:
            assert str(media["chunk"]) == "42"
        if "timestamp" in media:
            origin = 1_000_000 if provider == "plivo" else 0
            assert media["timestamp"] == str(origin + 41 * frame_ms)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_opening_and_numbering_are_the_simulators(provider: str) -> None:
    wire = CallWire(provider)
    opening = wire.opening()
    first = opening[0]
    assert isinstance(first, str)
    expected = {
        "plivo": "start",
        "vonage": "websocket:connected",
        "kookoo": "start",
    }.get(provider, "connected")
    assert json.loads(first)["event"] == expected
    # start is message 1 (greetings are not numbered); the first frame follows it.
    media = wire.media(0, 1, 0)
    if provider == "plivo":
        assert json.loads(media)["sequenceNumber"] == 2
    elif provider in ("twilio", "signalwire"):
        assert json.loads(media)["sequenceNumber"] == "2"
    elif provider in ("exotel", "telnyx"):
        assert json.loads(media)["sequence_number"] == "2"
    if provider == "kookoo":  # start, then the stray 16 kHz packet apps must discard
        assert json.loads(opening[1])["data"]["sampleRate"] == 16000


def test_media_message_keeps_its_plivo_shape() -> None:
    message = _loadtest.media_message("s-1", 3, 9, 1234)
    data = json.loads(message)
    assert data["sequenceNumber"] == 5 and data["streamId"] == "s-1"
    assert data["media"] == {
        "track": "inbound",
        "timestamp": "1234",
        "chunk": 4,
        "payload": frame_payload(3, 9),
    }
    assert data["extra_headers"] == ""


@pytest.mark.parametrize(
    ("provider", "event", "key"),
    [
        ("plivo", "dtmf", "dtmf"),
        ("twilio", "dtmf", "dtmf"),
        ("exotel", "dtmf", "dtmf"),
        ("telnyx", "dtmf", "dtmf"),
        ("vonage", "websocket:dtmf", "digit"),
    ],
)
def test_key_press_events(provider: str, event: str, key: str) -> None:
    message = CallWire(provider).dtmf("5", 100)
    assert isinstance(message, str)
    data = json.loads(message)
    assert data["event"] == event
    assert "5" in (data[key], data[key].get("digit") if isinstance(data[key], dict) else None)


def test_kookoo_has_no_key_press_events() -> None:
    wire = CallWire("kookoo")
    assert wire.dtmf("5", 100) is None
    assert not wire.has_dtmf_events


def _app(provider: str, wire: CallWire, kind: str, name: str = "dtmf-5") -> str:
    """What an app sends: a checkpoint/mark/notify, or a clear, in ``provider``'s shape."""
    sid = wire.stream_id
    shapes: dict[str, dict[str, object]] = {
        "plivo": {
            "checkpoint": {"event": "checkpoint", "streamId": sid, "name": name},
            "clear": {"event": "clearAudio", "streamId": sid},
        },
        "twilio": {
            "checkpoint": {"event": "mark", "streamSid": sid, "mark": {"name": name}},
            "clear": {"event": "clear", "streamSid": sid},
        },
        "exotel": {
            "checkpoint": {"event": "mark", "stream_sid": sid, "mark": {"name": name}},
            "clear": {"event": "clear", "stream_sid": sid},
        },
        "telnyx": {
            "checkpoint": {"event": "mark", "mark": {"name": name}},
            "clear": {"event": "clear"},
        },
        "vonage": {
            "checkpoint": {"action": "notify", "payload": {"name": name, "n": 1}},
            "clear": {"action": "clear"},
        },
        "kookoo": {"clear": {"command": "clearBuffer"}},
    }
    return orjson.dumps(shapes[provider][kind]).decode()


@pytest.mark.parametrize("provider", ["plivo", "twilio", "exotel", "telnyx", "vonage"])
def test_checkpoints_are_read_and_acknowledged_in_the_providers_words(provider: str) -> None:
    wire = CallWire(provider)
    message = _app(provider, wire, "checkpoint")
    assert wire.audio(message) is None
    assert wire.control(message) == Control("checkpoint", "dtmf-5")
    ack = json.loads(wire.ack("dtmf-5"))
    if provider == "plivo":
        assert (ack["event"], ack["name"]) == ("playedStream", "dtmf-5")
    elif provider == "vonage":  # the notify's payload, echoed verbatim
        assert ack == {"event": "websocket:notify", "payload": {"name": "dtmf-5", "n": 1}}
    else:
        assert (ack["event"], ack["mark"]) == ("mark", {"name": "dtmf-5"})


@pytest.mark.parametrize("provider", ["plivo", "twilio", "exotel", "telnyx", "vonage", "kookoo"])
def test_clears_are_read_and_answered_as_the_provider_does(provider: str) -> None:
    wire = CallWire(provider)
    assert wire.control(_app(provider, wire, "clear")) == Control("clear")
    replies = [json.loads(m)["event"] for m in wire.cleared()]
    assert replies == {"plivo": ["clearedAudio"], "vonage": ["websocket:cleared"]}.get(provider, [])


def test_a_malformed_checkpoint_is_counted_and_other_messages_ignored() -> None:
    wire = CallWire("twilio")
    assert wire.control('{"event":"mark","streamSid":"other","mark":{"name":"x"}}').kind == (
        "bad_checkpoint"
    )
    assert wire.control('{"event":"hello"}').kind == "other"
    assert wire.control(b"\x00\x01").kind == "other"


def test_kookoo_packets_are_read_with_their_seqid() -> None:
    samples = [0, 41 << 8, 7 << 8] + [5] * 77  # the header (41, 7) as three LE int16
    message = orjson.dumps(
        {
            "event": "media",
            "type": "media",
            "ucid": "1",
            "seqid": "abc-1",
            "data": {"samples": samples, "sampleRate": 8000, "numberOfFrames": 80},
        }
    ).decode()
    assert CallWire("kookoo").audio(message) == ((41, 7), 0.01, "abc-1")
    ack = json.loads(CallWire("kookoo", call_id="1").ack("abc-1", 500))
    assert (ack["event"], ack["type"], ack["seqid"], ack["ucid"]) == ("mark", "ack", "abc-1", "1")


def test_vonage_reads_binary_audio_only() -> None:
    wire = CallWire("vonage")
    assert wire.audio(HEADER.pack(3, 4) + bytes(634)) == ((3, 4), 0.02, None)
    assert wire.audio('{"event":"websocket:cleared"}') is None
    assert wire.audio(b"\x01") == (None, 1 / 32000, None)


# ------------------------------------------------------------------------- acks and clears


class _Socket:
    """The app's side, scripted: replies to read, and what the caller sent."""

    def __init__(self, replies: list[str | bytes]) -> None:
        self.replies = replies
        self.sent: list[str | bytes] = []

    async def send_message(self, message: str | bytes) -> None:
        self.sent.append(message)

    async def receive_message(self) -> str | bytes:
        if not self.replies:
            await trio.sleep_forever()
        await trio.sleep(0.01)
        return self.replies.pop(0)


def _call(provider: str, socket: _Socket, frames: int = 4) -> _Call:
    wire = CallWire(provider, call_id="1")
    return _Call(
        socket,  # type: ignore[arg-type]
        1,
        wire,
        frames,
        [0.0] * frames,
        [False] * frames,
        -1,
    )


async def _run_receive(call: _Call, report: WorkerReport, seconds: float) -> None:
    async with trio.open_nursery() as nursery:
        with trio.move_on_after(seconds):
            await _receive(call, trio.current_time(), report, nursery)
        await trio.sleep(1.0)  # let pending acknowledgements go out
        nursery.cancel_scope.cancel()


async def test_kookoo_packets_are_acknowledged_once_played(autojump_clock) -> None:
    replies: list[str | bytes] = []
    for n in range(3):
        samples = [0, n << 8, 1 << 8] + [0] * 77
        replies.append(
            orjson.dumps(
                {"event": "media", "seqid": f"p{n}", "data": {"samples": samples}}
            ).decode()
        )
    socket = _Socket(replies)
    call = _call("kookoo", socket)
    report = WorkerReport()
    await _run_receive(call, report, 0.5)
    assert call.received == 3
    # Packets arrive every 10 ms and play 10 ms each: each one has played when the next
    # arrives (an acknowledgement covers the packets before it).
    acks = [json.loads(m)["seqid"] for m in socket.sent]
    assert acks == ["p0", "p1"]


async def test_twilio_echoes_a_pending_mark_at_once_on_clear(autojump_clock) -> None:
    socket = _Socket([])
    call = _call("twilio", socket)
    report = WorkerReport()
    call.playout_end = trio.current_time() + 5.0  # a long queue still to play
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_loadtest._acknowledge, call, "m1", trio.current_time(), report)
        await trio.testing.wait_all_tasks_blocked()
        await _clear(call, trio.current_time())
    assert [json.loads(m)["mark"]["name"] for m in socket.sent] == ["m1"]
    assert report.checkpoints == [0.0]


@pytest.mark.parametrize("provider", ["plivo", "exotel", "vonage"])
async def test_a_clear_drops_pending_checkpoints_elsewhere(autojump_clock, provider: str) -> None:
    socket = _Socket([])
    call = _call(provider, socket)
    if provider == "vonage":  # the notify's payload is remembered when it is read
        call.wire.control(_app(provider, call.wire, "checkpoint", "m1"))
    report = WorkerReport()
    call.playout_end = trio.current_time() + 5.0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_loadtest._acknowledge, call, "m1", trio.current_time(), report)
        await trio.testing.wait_all_tasks_blocked()
        await _clear(call, trio.current_time())
    assert report.checkpoints == []
    events = [json.loads(m)["event"] for m in socket.sent]
    assert events == {"plivo": ["clearedAudio"], "vonage": ["websocket:cleared"]}.get(provider, [])
