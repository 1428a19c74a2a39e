"""Plivo wire protocol: every example of protocols.md §1.2-§1.3, both directions."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from trio_plivo import L16_16K, MULAW_8K, LocalProtocolError, RemoteProtocolError
from trio_plivo.protocol import (
    Checkpoint,
    ClearAudio,
    ClearedAudio,
    Dtmf,
    Media,
    MuteStream,
    PlayAudio,
    PlayedStream,
    PlayFailed,
    PlivoCodec,
    SendDtmf,
    Start,
    Stop,
    StreamError,
    StreamState,
    UnknownEvent,
    UnmuteStream,
    parse_extra_headers,
    unstructure_inbound,
)

SID = "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655"
MULAW_160 = bytes(range(160))

START: dict[str, Any] = {
    "event": "start",
    "sequenceNumber": 1,
    "start": {
        "callId": "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10",
        "streamId": SID,
        "accountId": "MAXXXXXXXXXXXXXXXXXX",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
    },
    "extra_headers": "tenant=acme;lead=42",
}


def started(start: dict[str, Any] | None = None) -> PlivoCodec:
    codec = PlivoCodec()
    codec.receive(json.dumps(start or START))
    return codec


def receive_one(codec: PlivoCodec, message: dict[str, Any] | str) -> Any:
    events = codec.receive(message if isinstance(message, str) else json.dumps(message))
    assert len(events) == 1
    return events[0]


def test_start_example() -> None:
    codec = PlivoCodec()
    event = receive_one(codec, START)
    assert event == Start(
        call_id="5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10",
        stream_id=SID,
        account_id="MAXXXXXXXXXXXXXXXXXX",
        tracks=("inbound",),
        media_format=MULAW_8K,
        extra_headers={"tenant": "acme", "lead": "42"},
        extra_headers_raw="tenant=acme;lead=42",
        sequence_number=1,
    )
    assert codec.state is StreamState.STREAMING
    assert codec.stream_id == SID
    assert codec.media_format == MULAW_8K


def test_start_l16_16k_without_extra_headers() -> None:
    msg = json.loads(json.dumps(START))
    msg["start"]["mediaFormat"] = {"encoding": "audio/x-l16", "sampleRate": "16000"}
    del msg["extra_headers"]
    event = receive_one(PlivoCodec(), msg)
    assert event.media_format == L16_16K
    assert event.extra_headers == {}
    assert event.extra_headers_raw is None


MEDIA: dict[str, Any] = {
    "event": "media",
    "sequenceNumber": 57,
    "streamId": SID,
    "media": {
        "track": "inbound",
        "timestamp": "1733912345678",
        "chunk": 56,
        "payload": base64.b64encode(MULAW_160).decode(),
    },
    "extra_headers": "tenant=acme;lead=42",
}

INBOUND_EXAMPLES: list[tuple[dict[str, Any], object]] = [
    (
        MEDIA,
        Media(
            payload=MULAW_160,
            track="inbound",
            timestamp=1733912345678,
            chunk=56,
            stream_id=SID,
            sequence_number=57,
        ),
    ),
    (
        {
            "event": "dtmf",
            "sequenceNumber": 311,
            "streamId": SID,
            "dtmf": {"track": "inbound", "digit": "5", "timestamp": "1733912351234"},
            "extra_headers": "tenant=acme;lead=42",
        },
        Dtmf(
            digit="5", track="inbound", timestamp=1733912351234, stream_id=SID, sequence_number=311
        ),
    ),
    (
        {"event": "playedStream", "sequenceNumber": 402, "streamId": SID, "name": "turn-3-end"},
        PlayedStream(name="turn-3-end", stream_id=SID, sequence_number=402),
    ),
    (
        {"event": "clearedAudio", "sequenceNumber": 405, "streamId": SID},
        ClearedAudio(stream_id=SID, sequence_number=405),
    ),
    (
        {"event": "playFailed", "sequenceNumber": 9, "streamId": SID, "reason": "bad audio"},
        PlayFailed(reason="bad audio", stream_id=SID, sequence_number=9),
    ),
    (
        {"event": "error", "sequenceNumber": 10, "streamId": SID, "reason": "oops"},
        StreamError(reason="oops", stream_id=SID, sequence_number=10),
    ),
    (
        {"event": "muteStream", "sequenceNumber": 11, "streamId": SID},
        MuteStream(stream_id=SID, sequence_number=11),
    ),
    (
        {"event": "unmuteStream", "sequenceNumber": 12, "streamId": SID},
        UnmuteStream(stream_id=SID, sequence_number=12),
    ),
]


@pytest.mark.parametrize(
    ("wire", "expected"), INBOUND_EXAMPLES, ids=lambda v: getattr(v, "get", lambda _: None)("event")
)
def test_inbound_examples_parse(wire: dict[str, Any], expected: object) -> None:
    assert receive_one(started(), wire) == expected


@pytest.mark.parametrize(
    ("wire", "expected"), INBOUND_EXAMPLES, ids=lambda v: getattr(v, "get", lambda _: None)("event")
)
def test_inbound_examples_round_trip(wire: dict[str, Any], expected: object) -> None:
    encoded = unstructure_inbound(expected)
    wire_without_headers = {k: v for k, v in wire.items() if k != "extra_headers"}
    assert encoded == wire_without_headers
    assert receive_one(started(), json.dumps(encoded)) == expected


def test_start_round_trip() -> None:
    event = receive_one(PlivoCodec(), START)
    assert unstructure_inbound(event) == START


def test_old_played_spelling_and_string_numbers() -> None:
    event = receive_one(
        started(), {"event": "played", "sequenceNumber": "402", "streamId": SID, "name": "x"}
    )
    assert event == PlayedStream(name="x", stream_id=SID, sequence_number=402)


def test_stop_ends_the_stream() -> None:
    codec = started()
    assert receive_one(codec, {"event": "stop", "sequenceNumber": 99, "streamId": SID}) == Stop(
        stream_id=SID, sequence_number=99
    )
    assert codec.state is StreamState.ENDED
    with pytest.raises(RemoteProtocolError, match="ended"):
        codec.receive(json.dumps(MEDIA))
    with pytest.raises(LocalProtocolError):
        codec.send(Checkpoint(name="late"))


def test_unknown_event_keeps_raw() -> None:
    raw = {"event": "somethingNew", "streamId": SID, "x": [1, 2]}
    assert receive_one(started(), raw) == UnknownEvent(event="somethingNew", raw=raw, stream_id=SID)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "JSON object"),
        ('"start"', "JSON object"),
        ('{"sequenceNumber": 3}', "no 'event'"),
        ('{"event": 7}', "no 'event'"),
        (json.dumps({**MEDIA, "media": {**MEDIA["media"], "payload": "!!notbase64"}}), "base64"),
        (json.dumps({**MEDIA, "media": {**MEDIA["media"], "payload": "QUJD"[:3]}}), "base64"),
        (json.dumps({**MEDIA, "media": "x"}), "'media' object"),
        (json.dumps({**MEDIA, "media": {"track": "inbound"}}), "payload"),
        (json.dumps({**MEDIA, "streamId": "other"}), "another stream"),
        (json.dumps({**MEDIA, "sequenceNumber": "seven"}), "integer"),
        (json.dumps({"event": "dtmf", "streamId": SID, "dtmf": "5"}), "dtmf"),
        (json.dumps({"event": "playedStream", "streamId": SID}), "name"),
        (json.dumps({"event": "playedStream", "streamId": "other", "name": "a"}), "another stream"),
        (json.dumps(START), "second start"),
    ],
)
def test_remote_errors_name_the_problem(message: str, match: str) -> None:
    codec = started()
    with pytest.raises(RemoteProtocolError, match=match):
        codec.receive(message)
    # one bad frame is not the end of the stream
    assert codec.state is StreamState.STREAMING
    assert isinstance(receive_one(codec, MEDIA), Media)


def test_binary_frame_is_a_remote_error() -> None:
    with pytest.raises(RemoteProtocolError, match="binary"):
        started().receive(b"\x00\x01")


@pytest.mark.parametrize("event", ["media", "dtmf", "playedStream", "clearedAudio", "stop"])
def test_events_before_start_are_refused(event: str) -> None:
    wire = next(
        (w for w, _ in INBOUND_EXAMPLES if w["event"] == event), {"event": event, "streamId": SID}
    )
    codec = PlivoCodec()
    with pytest.raises(RemoteProtocolError, match="start") as info:
        codec.receive(json.dumps(wire))
    assert info.value.event_hint == event
    assert codec.state is StreamState.AWAITING_START


def test_bad_start_is_refused_with_field_path() -> None:
    msg = json.loads(json.dumps(START))
    msg["start"]["mediaFormat"] = {"encoding": "audio/ogg", "sampleRate": 8000}
    with pytest.raises(RemoteProtocolError, match="bad start"):
        PlivoCodec().receive(json.dumps(msg))
    msg["start"] = None
    with pytest.raises(RemoteProtocolError, match="start"):
        PlivoCodec().receive(json.dumps(msg))


# --- outbound ------------------------------------------------------------------------------


def test_outbound_exact_shapes() -> None:
    codec = started()
    assert json.loads(codec.send(PlayAudio(payload=MULAW_160))) == {
        "event": "playAudio",
        "media": {
            "contentType": "audio/x-mulaw",
            "sampleRate": 8000,
            "payload": base64.b64encode(MULAW_160).decode(),
        },
    }
    assert json.loads(codec.send(Checkpoint(name="turn-3-end"))) == {
        "event": "checkpoint",
        "streamId": SID,
        "name": "turn-3-end",
    }
    assert json.loads(codec.send(ClearAudio())) == {"event": "clearAudio", "streamId": SID}
    assert json.loads(codec.send(SendDtmf(digits="12#"))) == {"event": "sendDTMF", "dtmf": "12#"}


def test_play_audio_uses_the_negotiated_l16_format_and_optional_stream_id() -> None:
    msg = json.loads(json.dumps(START))
    msg["start"]["mediaFormat"] = {"encoding": "audio/x-l16", "sampleRate": 16000}
    codec = PlivoCodec(include_stream_id_in_play_audio=True)
    codec.receive(json.dumps(msg))
    sent = json.loads(codec.send(PlayAudio(payload=b"\x01\x00" * 320)))
    assert sent["media"]["contentType"] == "audio/x-l16"
    assert sent["media"]["sampleRate"] == 16000
    assert sent["streamId"] == SID


@pytest.mark.parametrize("stream_id", [SID, 'quote " and <payload> and \u00e9', ""])
@pytest.mark.parametrize("with_stream_id", [False, True])
def test_play_audio_text_is_exactly_what_json_encoding_gives(
    stream_id: str, with_stream_id: bool
) -> None:
    # playAudio is rendered from a template made at start: the text must be byte for byte
    # the JSON of the message, whatever the stream id holds (quotes, the placeholder, unicode).
    msg = json.loads(json.dumps(START))
    msg["start"]["streamId"] = stream_id
    codec = PlivoCodec(include_stream_id_in_play_audio=with_stream_id)
    codec.receive(json.dumps(msg))
    payload = bytes(range(256)) * 2
    expected: dict[str, Any] = {
        "event": "playAudio",
        "media": {
            "contentType": "audio/x-mulaw",
            "sampleRate": 8000,
            "payload": base64.b64encode(payload).decode(),
        },
    }
    if with_stream_id:
        expected["streamId"] = stream_id
    text = codec.send(PlayAudio(payload=payload))
    assert json.loads(text) == expected
    assert text == json.dumps(expected, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    ("command", "match"),
    [
        (PlayAudio(payload=b"\x00" * 320, audio_format=L16_16K), "codec switch"),
        (PlayAudio(payload=b""), "whole"),
        (Checkpoint(name=""), "non-empty"),
        (SendDtmf(digits="12x"), "invalid DTMF"),
        (SendDtmf(digits=""), "invalid DTMF"),
    ],
)
def test_local_misuse_raises_local_protocol_error(command: Any, match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        started().send(command)


@pytest.mark.parametrize(
    "command",
    [Checkpoint(name="a"), ClearAudio(), PlayAudio(payload=b"\xff"), SendDtmf(digits="1")],
)
def test_commands_before_start_are_local_errors(command: Any) -> None:
    with pytest.raises(LocalProtocolError, match="awaiting start"):
        PlivoCodec().send(command)


def test_connection_closed_ends_the_stream() -> None:
    codec = started()
    codec.connection_closed()
    assert codec.state is StreamState.ENDED


# --- extra_headers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("tenant=acme;lead=42", {"tenant": "acme", "lead": "42"}),
        ("test1=12,test2=123", {"test1": "12", "test2": "123"}),
        ('{"tenant": "acme", "lead": 42}', {"tenant": "acme", "lead": "42"}),
        ("a=1; b=2 ,c=3;", {"a": "1", "b": "2", "c": "3"}),
        ("flag", {"flag": ""}),
        ("", {}),
        (None, {}),
        ("{broken", {"{broken": ""}),
    ],
)
def test_parse_extra_headers(raw: str | None, expected: dict[str, str]) -> None:
    assert parse_extra_headers(raw) == expected
