"""Exotel AgentStream (protocols.md §4): both key casings in, configurable casing out."""

from __future__ import annotations

import base64
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
    Dtmf,
    Hangup,
    Media,
    PlayAudio,
    PlayedStream,
    SendDtmf,
    Start,
    Stop,
    StreamState,
)
from trio_plivo.protocol.exotel import ExotelCodec

SID = "MZ2d1e6b9f0c4a"
PCM = bytes(range(256)) * 12 + bytes(128)  # 3200 bytes: 100 ms at 16 kHz, 200 ms at 8 kHz

START: dict[str, Any] = {
    "event": "start",
    "sequence_number": "1",
    "stream_sid": SID,
    "start": {
        "stream_sid": SID,
        "call_sid": "CAfe12",
        "account_sid": "ACexotel",
        "from": "+919800000001",
        "to": "+918000000002",
        "custom_parameters": {"k": "v"},
        "media_format": {"encoding": "audio/x-raw", "sample_rate": "8000", "bit_rate": "16"},
    },
}
CAMEL_START: dict[str, Any] = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": SID,
    "start": {
        "streamSid": SID,
        "callSid": "CAfe12",
        "accountSid": "ACexotel",
        "customParameters": {"k": "v"},
        "mediaFormat": {"encoding": "audio/x-raw", "sampleRate": "16000"},
    },
}
MEDIA = {
    "event": "media",
    "sequence_number": "3",
    "stream_sid": SID,
    "media": {"chunk": "2", "timestamp": "200", "payload": base64.b64encode(PCM[:1600]).decode()},
}
DTMF = {
    "event": "dtmf",
    "sequence_number": "7",
    "stream_sid": SID,
    "dtmf": {"digit": "5", "duration": "100"},
}
MARK = {"event": "mark", "sequence_number": "15", "stream_sid": SID, "mark": {"name": "turn-3-end"}}
STOP = {
    "event": "stop",
    "sequence_number": "20",
    "stream_sid": SID,
    "stop": {"call_sid": "CAfe12", "account_sid": "ACexotel", "reason": "callended"},
}


def feed(codec: ExotelCodec, message: Any) -> list[Any]:
    return list(codec.receive(json.dumps(message) if isinstance(message, dict) else message))


def started(codec: ExotelCodec | None = None, start: dict[str, Any] = START) -> ExotelCodec:
    codec = codec or ExotelCodec()
    assert feed(codec, {"event": "connected"}) == []
    feed(codec, start)
    return codec


def test_snake_case_start() -> None:
    codec = ExotelCodec()
    assert feed(codec, START) == [
        Start(
            call_id="CAfe12",
            stream_id=SID,
            account_id="ACexotel",
            media_format=L16_8K,
            extra_headers={"from": "+919800000001", "to": "+918000000002"},
            custom_parameters={"k": "v"},
            sequence_number=1,
        )
    ]
    assert codec.state is StreamState.STREAMING


def test_camel_case_start_at_16k() -> None:
    [event] = feed(ExotelCodec(), CAMEL_START)
    assert (event.call_id, event.stream_id, event.media_format) == ("CAfe12", SID, L16_16K)
    assert event.custom_parameters == {"k": "v"}


def test_missing_format_uses_the_configured_rate() -> None:
    start = json.loads(json.dumps(START))
    del start["start"]["media_format"]
    [event] = feed(ExotelCodec(sample_rate=24000), start)
    assert event.media_format == AudioFormat(encoding=Encoding.L16, sample_rate=24000)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            MEDIA,
            Media(payload=PCM[:1600], timestamp=200, chunk=2, stream_id=SID, sequence_number=3),
        ),
        (DTMF, Dtmf(digit="5", stream_id=SID, sequence_number=7)),
        (MARK, PlayedStream(name="turn-3-end", stream_id=SID, sequence_number=15)),
        (STOP, Stop(reason="callended", stream_id=SID, sequence_number=20)),
        (
            {
                "event": "media",
                "sequenceNumber": "4",
                "streamSid": SID,
                "media": {"payload": base64.b64encode(PCM[:320]).decode()},
            },
            Media(payload=PCM[:320], stream_id=SID, sequence_number=4),
        ),
    ],
    ids=["media", "dtmf", "mark", "stop", "camel-media"],
)
def test_inbound_examples(message: dict[str, Any], expected: Any) -> None:
    assert feed(started(), message) == [expected]


def test_media_for_another_stream_in_either_casing_is_refused() -> None:
    codec = started()
    for key in ("stream_sid", "streamSid"):
        bad = {k: v for k, v in MEDIA.items() if k != "stream_sid"} | {key: "MZother"}
        with pytest.raises(RemoteProtocolError, match="another stream"):
            feed(codec, bad)


def test_outbound_snake_case_by_default() -> None:
    codec = started()
    assert json.loads(codec.send(PlayAudio(payload=PCM[:1600]))) == {
        "event": "media",
        "stream_sid": SID,
        "media": {"payload": base64.b64encode(PCM[:1600]).decode()},
    }
    assert json.loads(codec.send(Checkpoint(name="n"))) == {
        "event": "mark",
        "stream_sid": SID,
        "mark": {"name": "n"},
    }
    assert json.loads(codec.send(ClearAudio())) == {"event": "clear", "stream_sid": SID}


def test_outbound_camel_case_with_media_counters() -> None:
    codec = started(ExotelCodec(casing="camel", media_counters=True))
    first = json.loads(codec.send(PlayAudio(payload=PCM[:1600])))
    second = json.loads(codec.send(PlayAudio(payload=PCM[:1600])))
    assert first["streamSid"] == SID and "stream_sid" not in first
    assert first["media"] | {"payload": ""} == {
        "payload": "",
        "chunk": "1",
        "timestamp": "0",
        "sequenceNumber": "1",
    }
    assert second["media"]["chunk"] == "2"
    assert second["media"]["timestamp"] == "100"  # 1600 bytes of 8 kHz PCM16
    assert json.loads(codec.send(ClearAudio())) == {"event": "clear", "streamSid": SID}


@pytest.mark.parametrize(("rate", "size"), [(8000, 1600), (16000, 3200), (24000, 4800)])
def test_frame_ms_gives_multiples_of_320_bytes(rate: int, size: int) -> None:
    fmt = AudioFormat(encoding=Encoding.L16, sample_rate=rate)
    assert fmt.bytes_for(ExotelCodec.frame_ms) == size
    assert size % 320 == 0


@pytest.mark.parametrize("size", [160, 1000, 100_160])
def test_outbound_chunks_must_be_multiples_of_320(size: int) -> None:
    with pytest.raises(LocalProtocolError, match="320"):
        started().send(PlayAudio(payload=bytes(size)))


@pytest.mark.parametrize("command", [SendDtmf(digits="1"), Hangup()])
def test_no_dtmf_or_hangup_messages(command: Any) -> None:
    with pytest.raises(LocalProtocolError):
        started().send(command)


@pytest.mark.parametrize("options", [{"casing": "kebab"}, {"sample_rate": 44100}])
def test_bad_settings(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ExotelCodec(**options)


def test_capabilities() -> None:
    codec = ExotelCodec()
    assert (codec.provider, codec.frame_ms, codec.has_dtmf_events) == ("exotel", 100, True)
    assert not (codec.supports_dtmf_out or codec.supports_hangup)


def test_start_without_call_sid_is_refused() -> None:
    start = json.loads(json.dumps(START))
    del start["start"]["call_sid"]
    with pytest.raises(RemoteProtocolError, match="call_sid"):
        feed(ExotelCodec(), start)
