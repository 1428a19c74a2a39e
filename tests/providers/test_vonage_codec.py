"""Vonage Voice WebSocket (protocols.md §6): JSON control, binary L16 audio both ways."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trio_plivo import (
    L16_8K,
    L16_16K,
    AudioFormat,
    ConfigurationError,
    Encoding,
    LocalProtocolError,
    RemoteProtocolError,
)
from trio_plivo.protocol import (
    Checkpoint,
    ClearAudio,
    ClearedAudio,
    Dtmf,
    Hangup,
    Media,
    PlayAudio,
    PlayedStream,
    SendDtmf,
    Stop,
    StreamState,
    UnknownEvent,
)
from trio_plivo.protocol.vonage import VonageCodec

CONNECTED = {
    "event": "websocket:connected",
    "content-type": "audio/l16;rate=16000",
    "uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "tenant": "acme",
    "lead": 42,
}
FRAME = bytes(range(256)) * 2 + bytes(128)  # 640 bytes: 20 ms at 16 kHz


def feed(codec: VonageCodec, message: Any) -> list[Any]:
    return list(codec.receive(json.dumps(message) if isinstance(message, dict) else message))


def started(connected: dict[str, Any] = CONNECTED) -> VonageCodec:
    codec = VonageCodec()
    feed(codec, connected)
    return codec


def test_connected_synthesises_a_start() -> None:
    codec = VonageCodec()
    [start] = feed(codec, CONNECTED)
    assert start.call_id == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
    assert start.media_format == L16_16K
    assert start.extra_headers == {"uuid": CONNECTED["uuid"], "tenant": "acme", "lead": "42"}
    assert start.stream_id == codec.stream_id and start.stream_id
    assert codec.state is StreamState.STREAMING


def test_without_an_id_header_the_call_id_is_generated_per_stream() -> None:
    connected = {"event": "websocket:connected", "content-type": "audio/l16;rate=8000"}
    [one] = feed(VonageCodec(), connected)
    [two] = feed(VonageCodec(), connected)
    assert one.media_format == L16_8K
    assert one.call_id and one.call_id != two.call_id


@pytest.mark.parametrize("header", ["call_uuid", "callUuid", "conversation_uuid"])
def test_other_id_headers(header: str) -> None:
    [start] = feed(
        VonageCodec(),
        {"event": "websocket:connected", "content-type": "audio/l16;rate=16000", header: "C-1"},
    )
    assert start.call_id == "C-1"


def test_missing_content_type_uses_the_default() -> None:
    [start] = feed(
        VonageCodec(default_content_type="audio/l16;rate=24000"), {"event": "websocket:connected"}
    )
    assert start.media_format == AudioFormat(encoding=Encoding.L16, sample_rate=24000)


def test_binary_frames_are_media() -> None:
    codec = started()
    assert feed(codec, FRAME) == [Media(payload=FRAME, chunk=1, stream_id=codec.stream_id)]
    assert feed(codec, bytearray(FRAME))[0].chunk == 2


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"event": "websocket:dtmf", "digit": "5", "duration": 260}, Dtmf(digit="5")),
        ({"event": "websocket:dtmf", "dtmf": {"digit": "#", "duration": 100}}, Dtmf(digit="#")),
        ({"event": "websocket:notify", "payload": {"name": "turn-1"}}, PlayedStream(name="turn-1")),
        ({"event": "websocket:cleared"}, ClearedAudio()),
        ({"event": "websocket:hangup"}, Stop(reason="hangup")),
    ],
    ids=["dtmf-flat", "dtmf-nested", "notify", "cleared", "hangup"],
)
def test_control_messages(message: dict[str, Any], expected: Any) -> None:
    codec = started()
    [event] = feed(codec, message)
    assert event == type(expected)(**{**_fields(expected), "stream_id": codec.stream_id})


def _fields(event: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(event, recurse=False)


def test_foreign_notify_and_unknown_events_are_unknown() -> None:
    codec = started()
    foreign = {"event": "websocket:notify", "payload": {"other": 1}}
    assert feed(codec, foreign) == [
        UnknownEvent(event="websocket:notify", raw=foreign, stream_id=codec.stream_id)
    ]
    assert isinstance(feed(codec, {"event": "websocket:future"})[0], UnknownEvent)


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (bytes(639), "whole"),
        (b"", "whole"),
        ({"event": "websocket:dtmf"}, "digit"),
        ({"event": "websocket:dtmf", "dtmf": 5}, "object"),
        (CONNECTED, "second"),
        ("nope", "JSON"),
        ({"no": "event"}, "event"),
    ],
)
def test_malformed(message: Any, match: str) -> None:
    codec = started()
    with pytest.raises(RemoteProtocolError, match=match):
        feed(codec, message)
    assert feed(codec, FRAME)  # still streaming


@pytest.mark.parametrize(
    "connected",
    [
        {"event": "websocket:connected", "content-type": "audio/x-mulaw;rate=8000"},
        {"event": "websocket:connected", "content-type": "video/mp4"},
        {"event": "websocket:connected", "content-type": 16000},
    ],
)
def test_bad_content_type(connected: dict[str, Any]) -> None:
    codec = VonageCodec()
    with pytest.raises(RemoteProtocolError, match="content-type"):
        feed(codec, connected)
    assert codec.state is StreamState.AWAITING_START


def test_nothing_before_connected() -> None:
    with pytest.raises(RemoteProtocolError, match="binary audio while awaiting"):
        feed(VonageCodec(), FRAME)
    with pytest.raises(RemoteProtocolError, match="before websocket:connected"):
        feed(VonageCodec(), {"event": "websocket:cleared"})


def test_outbound() -> None:
    codec = started()
    assert codec.send(PlayAudio(payload=FRAME)) == FRAME
    assert json.loads(codec.send(Checkpoint(name="turn-1"))) == {
        "action": "notify",
        "payload": {"name": "turn-1"},
    }
    assert json.loads(codec.send(ClearAudio())) == {"action": "clear"}


@pytest.mark.parametrize(
    ("command", "match"),
    [
        (SendDtmf(digits="1"), "in-band"),
        (Hangup(), "hang-up"),
        (Checkpoint(name=""), "non-empty"),
        (PlayAudio(payload=b"\x00"), "whole"),
        (PlayAudio(payload=FRAME, audio_format=L16_8K), "convert"),
        (42, "not a command"),
    ],
)
def test_outbound_refusals(command: Any, match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        started().send(command)


def test_after_close_nothing_goes() -> None:
    codec = started()
    codec.connection_closed()
    with pytest.raises(LocalProtocolError):
        codec.send(PlayAudio(payload=FRAME))
    with pytest.raises(RemoteProtocolError, match="ended"):
        feed(codec, {"event": "websocket:cleared"})


def test_bad_default_content_type() -> None:
    with pytest.raises(ConfigurationError):
        VonageCodec(default_content_type="audio/x-mulaw")
