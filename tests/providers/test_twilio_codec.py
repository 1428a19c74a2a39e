"""Twilio (protocols.md §2) and SignalWire (§3) wire protocol: every example, both directions."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from trio_plivo import (
    L16_16K,
    MULAW_8K,
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
    Start,
    Stop,
    StreamState,
    UnknownEvent,
)
from trio_plivo.protocol.signalwire import SignalWireCodec, parse_signalwire_codec
from trio_plivo.protocol.twilio import TwilioCodec

SID = "MZ18ad3ab5a668481ce02b83e7395059f0"
CALL = "CA7a9e7d1f3f1ab6e52b1bd1e0fc3f4b1a"
ACCOUNT = "AC25e16e9a716a4a1786a7c83f58e30482"
MULAW_160 = bytes(range(160))

CONNECTED = {"event": "connected", "protocol": "Call", "version": "1.0.0"}
START: dict[str, Any] = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": SID,
    "start": {
        "streamSid": SID,
        "accountSid": ACCOUNT,
        "callSid": CALL,
        "tracks": ["inbound"],
        "customParameters": {"lead": "42"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    },
}
MEDIA = {
    "event": "media",
    "sequenceNumber": "3",
    "streamSid": SID,
    "media": {
        "track": "inbound",
        "chunk": "2",
        "timestamp": "40",
        "payload": base64.b64encode(MULAW_160).decode(),
    },
}
DTMF = {
    "event": "dtmf",
    "sequenceNumber": "9",
    "streamSid": SID,
    "dtmf": {"track": "inbound_track", "digit": "7"},
}
MARK = {"event": "mark", "sequenceNumber": "12", "streamSid": SID, "mark": {"name": "turn-3-end"}}
STOP = {
    "event": "stop",
    "sequenceNumber": "99",
    "streamSid": SID,
    "stop": {"accountSid": ACCOUNT, "callSid": CALL},
}


def feed(codec: Any, message: dict[str, Any] | str | bytes) -> list[Any]:
    if isinstance(message, dict):
        message = json.dumps(message)
    return list(codec.receive(message))


def started(codec: Any = None, start: dict[str, Any] = START) -> Any:
    codec = codec if codec is not None else TwilioCodec()
    assert feed(codec, CONNECTED) == []
    feed(codec, start)
    return codec


def sent(codec: Any, command: Any) -> Any:
    out = codec.send(command)
    assert isinstance(out, str)
    return json.loads(out)


# --- inbound -------------------------------------------------------------------------------


def test_connected_gives_no_events_and_start_maps_every_field() -> None:
    codec = TwilioCodec()
    assert feed(codec, CONNECTED) == []
    assert codec.state is StreamState.AWAITING_START
    assert feed(codec, START) == [
        Start(
            call_id=CALL,
            stream_id=SID,
            account_id=ACCOUNT,
            tracks=("inbound",),
            media_format=MULAW_8K,
            custom_parameters={"lead": "42"},
            sequence_number=1,
        )
    ]
    assert codec.state is StreamState.STREAMING
    assert codec.stream_id == SID
    assert codec.media_format == MULAW_8K


def test_start_without_media_format_assumes_mulaw_and_tracks_are_normalised() -> None:
    start = json.loads(json.dumps(START))
    del start["start"]["mediaFormat"]
    start["start"]["tracks"] = ["inbound_track", "outbound_track"]
    [event] = feed(TwilioCodec(), start)
    assert event.media_format == MULAW_8K
    assert event.tracks == ("inbound", "outbound")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            MEDIA,
            Media(
                payload=MULAW_160,
                track="inbound",
                timestamp=40,
                chunk=2,
                stream_id=SID,
                sequence_number=3,
            ),
        ),
        (
            DTMF,
            Dtmf(digit="7", track="inbound", stream_id=SID, sequence_number=9),
        ),
        (MARK, PlayedStream(name="turn-3-end", stream_id=SID, sequence_number=12)),
        (STOP, Stop(stream_id=SID, sequence_number=99)),
        (
            {"event": "clear", "streamSid": SID},
            ClearedAudio(stream_id=SID),
        ),
    ],
    ids=["media", "dtmf", "mark", "stop", "clear-ack"],
)
def test_inbound_examples(message: dict[str, Any], expected: Any) -> None:
    assert feed(started(), message) == [expected]


def test_stop_ends_the_stream() -> None:
    codec = started()
    feed(codec, STOP)
    assert codec.state is StreamState.ENDED
    with pytest.raises(RemoteProtocolError, match="after the stream ended"):
        feed(codec, MARK)
    with pytest.raises(LocalProtocolError):
        codec.send(ClearAudio())


def test_unknown_event_is_reported_not_fatal() -> None:
    message = {"event": "futureThing", "streamSid": SID, "x": 1}
    assert feed(started(), message) == [
        UnknownEvent(event="futureThing", raw=message, stream_id=SID)
    ]


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ("{", "malformed JSON"),
        ("[1]", "JSON object"),
        (b"\x00\x01", "binary frame"),
        ({"no": "event"}, "'event'"),
        ({**MEDIA, "streamSid": "MZother"}, "another stream"),
        ({**MEDIA, "media": "x"}, "'media' object"),
        ({**MEDIA, "media": {"payload": "***"}}, "base64"),
        ({**MEDIA, "media": {"payload": 5}}, "payload"),
        ({**MEDIA, "media": {"payload": "", "chunk": "x"}}, "bad media"),
        ({**MEDIA, "media": {"payload": "", "track": 3}}, "track"),
        ({**DTMF, "dtmf": {"digit": None}}, "digit"),
        ({**MARK, "mark": {}}, "mark name"),
        ({**MARK, "mark": 3}, "'mark' object"),
        ({**MARK, "sequenceNumber": "x"}, "sequence number"),
        (START, "second start"),
    ],
)
def test_malformed_messages_are_remote_protocol_errors(message: Any, match: str) -> None:
    codec = started()
    with pytest.raises(RemoteProtocolError, match=match):
        feed(codec, message)
    # One bad frame is not the end of the call.
    assert feed(codec, MEDIA)[0].payload == MULAW_160


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s["start"].pop("callSid"), "callSid"),
        (lambda s: (s.pop("streamSid"), s["start"].pop("streamSid")), "streamSid"),
        (lambda s: s["start"].update(tracks="inbound"), "tracks"),
        (lambda s: s["start"].update(customParameters=[1]), "customParameters"),
        (lambda s: s["start"].update(customParameters={"a": {"b": 1}}), "customParameters"),
        (lambda s: s["start"].update(mediaFormat={"encoding": "audio/opus"}), "opus"),
        (lambda s: s["start"].update(mediaFormat={"sampleRate": 8000}), "encoding"),
        (
            lambda s: s["start"].update(
                mediaFormat={**START["start"]["mediaFormat"], "channels": 2}
            ),
            "mono",
        ),
        (
            lambda s: s["start"].update(
                mediaFormat={"encoding": "audio/x-mulaw", "sampleRate": -8}
            ),
            "rate",
        ),
        (lambda s: s.update(start=None), "'start' object"),
    ],
)
def test_bad_start_is_refused_and_the_codec_still_waits(change: Any, match: str) -> None:
    start = json.loads(json.dumps(START))
    change(start)
    codec = TwilioCodec()
    with pytest.raises(RemoteProtocolError, match=match):
        feed(codec, start)
    assert codec.state is StreamState.AWAITING_START
    feed(codec, START)
    assert codec.state is StreamState.STREAMING


@pytest.mark.parametrize("message", [MEDIA, DTMF, MARK, STOP, {"event": "other"}])
def test_nothing_but_start_before_start(message: dict[str, Any]) -> None:
    with pytest.raises(RemoteProtocolError, match=r"before start|while awaiting"):
        feed(TwilioCodec(), message)


# --- outbound ------------------------------------------------------------------------------


def test_outbound_examples_carry_the_stream_sid() -> None:
    codec = started()
    assert sent(codec, PlayAudio(payload=MULAW_160)) == {
        "event": "media",
        "streamSid": SID,
        "media": {"payload": base64.b64encode(MULAW_160).decode()},
    }
    assert sent(codec, Checkpoint(name="turn-3-end")) == {
        "event": "mark",
        "streamSid": SID,
        "mark": {"name": "turn-3-end"},
    }
    assert sent(codec, ClearAudio()) == {"event": "clear", "streamSid": SID}


@pytest.mark.parametrize(
    ("command", "match"),
    [
        (SendDtmf(digits="1"), "in-band"),
        (Hangup(), "REST"),
        (Checkpoint(name=""), "non-empty"),
        (PlayAudio(payload=b""), "whole"),
        (PlayAudio(payload=MULAW_160, audio_format=L16_16K), "convert"),
        ("not a command", "not a command"),
    ],
)
def test_outbound_refusals(command: Any, match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        started().send(command)


def test_nothing_can_be_sent_before_start() -> None:
    with pytest.raises(LocalProtocolError, match="awaiting start"):
        TwilioCodec().send(PlayAudio(payload=MULAW_160))


def test_capabilities() -> None:
    codec = TwilioCodec()
    assert (codec.provider, codec.frame_ms) == ("twilio", 20)
    assert codec.acks_checkpoints_on_clear
    assert codec.has_dtmf_events
    assert not codec.supports_dtmf_out
    assert not codec.supports_hangup


# --- marks echoed on clear -----------------------------------------------------------------


def test_echoes_of_cleared_marks_pass_through_for_the_call_to_ignore() -> None:
    codec = started()
    codec.send(Checkpoint(name="a"))
    codec.send(Checkpoint(name="b"))
    codec.send(ClearAudio())
    assert [e.name for e in feed(codec, {**MARK, "mark": {"name": "a"}})] == ["a"]
    assert [e.name for e in feed(codec, {**MARK, "mark": {"name": "b"}})] == ["b"]


def test_echo_of_a_cleared_mark_is_swallowed_when_its_name_was_reused() -> None:
    codec = started()
    codec.send(Checkpoint(name="end"))
    codec.send(ClearAudio())
    codec.send(Checkpoint(name="end"))  # the app reuses the name right after the clear
    assert feed(codec, {**MARK, "mark": {"name": "end"}}) == []  # the echo
    assert [e.name for e in feed(codec, {**MARK, "mark": {"name": "end"}})] == ["end"]
    # Once a post-clear mark played, nothing is remembered: the next "end" is real too.
    codec.send(Checkpoint(name="end"))
    assert [e.name for e in feed(codec, {**MARK, "mark": {"name": "end"}})] == ["end"]


# --- SignalWire ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media_format", "expected"),
    [
        ({"encoding": "audio/x-mulaw", "sampleRate": 8000}, MULAW_8K),
        ({"encoding": "audio/x-l16", "sampleRate": 16000}, L16_16K),
        (
            {"encoding": "L16", "sampleRate": "24000"},
            AudioFormat(encoding=Encoding.L16, sample_rate=24000),
        ),
        ({"encoding": "audio/l16;rate=16000"}, L16_16K),
    ],
)
def test_signalwire_takes_the_announced_format(
    media_format: dict[str, Any], expected: AudioFormat
) -> None:
    start = json.loads(json.dumps(START))
    start["start"]["mediaFormat"] = media_format
    codec = SignalWireCodec()
    [event] = feed(codec, start)
    assert event.media_format == expected
    assert codec.provider == "signalwire"
    payload = bytes(expected.bytes_for(20))
    assert (
        sent(codec, PlayAudio(payload=payload))["media"]["payload"]
        == base64.b64encode(payload).decode()
    )


def test_signalwire_configured_codec_applies_when_start_announces_none() -> None:
    start = json.loads(json.dumps(START))
    del start["start"]["mediaFormat"]
    [event] = feed(SignalWireCodec(codec="L16@24000h"), start)
    assert event.media_format == AudioFormat(encoding=Encoding.L16, sample_rate=24000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PCMU@8000h", MULAW_8K),
        ("L16@16000h", L16_16K),
        ("l16@24000", AudioFormat(encoding=Encoding.L16, sample_rate=24000)),
        ("PCMU", MULAW_8K),
    ],
)
def test_parse_signalwire_codec(text: str, expected: AudioFormat) -> None:
    assert parse_signalwire_codec(text) == expected


@pytest.mark.parametrize("text", ["OPUS@48000h", "L16@fast", "PCMU@16000h", "L16@0h", ""])
def test_parse_signalwire_codec_refuses_nonsense(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_signalwire_codec(text)
