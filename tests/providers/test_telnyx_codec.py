"""Telnyx media streaming (protocols.md §5), including reordering of out-of-order media."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from trio_plivo import (
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
    Dtmf,
    Media,
    PlayAudio,
    PlayedStream,
    Start,
    Stop,
    StreamError,
    StreamState,
)
from trio_plivo.protocol.telnyx import TelnyxCodec

SID = "32DE0DEA-53CB-4B21-89A4-9E1819C043BC"
CCID = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"

START: dict[str, Any] = {
    "event": "start",
    "sequence_number": "1",
    "stream_id": SID,
    "start": {
        "user_id": "3e6f995f-85f7-4705-9741-53b116d28237",
        "call_control_id": CCID,
        "call_session_id": "ff55a038-6f2d-11ef-9692-02420aef0d1f",
        "from": "+13122010094",
        "to": "+13122123456",
        "client_state": "aGF2ZSBhIG5pY2UgZGF5ID1d",
        "custom_parameters": {"lead": "42"},
        "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1},
    },
}


def media(chunk: int, track: str = "inbound", payload: bytes | None = None) -> dict[str, Any]:
    payload = payload if payload is not None else bytes([chunk % 256]) * 160
    return {
        "event": "media",
        "sequence_number": str(chunk + 2),
        "stream_id": SID,
        "media": {
            "track": track,
            "chunk": str(chunk),
            "timestamp": str(chunk * 20),
            "payload": base64.b64encode(payload).decode(),
        },
    }


def feed(codec: TelnyxCodec, message: Any) -> list[Any]:
    return list(codec.receive(json.dumps(message) if isinstance(message, dict) else message))


def started(codec: TelnyxCodec | None = None, start: dict[str, Any] = START) -> TelnyxCodec:
    codec = codec or TelnyxCodec()
    assert feed(codec, {"event": "connected", "version": "1.0.0"}) == []
    feed(codec, start)
    return codec


def chunks(events: list[Any]) -> list[int]:
    return [e.chunk for e in events if isinstance(e, Media)]


def test_start_example() -> None:
    codec = TelnyxCodec()
    assert feed(codec, START) == [
        Start(
            call_id=CCID,
            stream_id=SID,
            account_id="3e6f995f-85f7-4705-9741-53b116d28237",
            media_format=MULAW_8K,
            extra_headers={
                "call_session_id": "ff55a038-6f2d-11ef-9692-02420aef0d1f",
                "from": "+13122010094",
                "to": "+13122123456",
                "client_state": "aGF2ZSBhIG5pY2UgZGF5ID1d",
            },
            custom_parameters={"lead": "42"},
            sequence_number=1,
        )
    ]
    assert codec.state is StreamState.STREAMING


@pytest.mark.parametrize(
    ("media_format", "expected"),
    [
        (
            {"encoding": "PCMA", "sample_rate": 8000},
            AudioFormat(encoding=Encoding.ALAW, sample_rate=8000),
        ),
        (
            {"encoding": "L16", "sample_rate": 16000},
            AudioFormat(encoding=Encoding.L16, sample_rate=16000, byte_order="big"),
        ),
    ],
)
def test_formats_from_media_format(media_format: dict[str, Any], expected: AudioFormat) -> None:
    start = json.loads(json.dumps(START))
    start["start"]["media_format"] = media_format
    [event] = feed(TelnyxCodec(), start)
    assert event.media_format == expected


def test_l16_byte_order_can_be_overridden() -> None:
    start = json.loads(json.dumps(START))
    start["start"]["media_format"] = {"encoding": "L16", "sample_rate": 16000}
    [event] = feed(TelnyxCodec(l16_byte_order="little"), start)
    assert event.media_format.byte_order == "little"


@pytest.mark.parametrize("encoding", ["G722", "OPUS", "AMR-WB"])
def test_codecs_the_call_cannot_play_are_refused_by_name(encoding: str) -> None:
    start = json.loads(json.dumps(START))
    start["start"]["media_format"] = {"encoding": encoding, "sample_rate": 16000}
    with pytest.raises(RemoteProtocolError, match=encoding):
        feed(TelnyxCodec(), start)


def test_media_example() -> None:
    assert feed(started(), media(2, payload=b"\x7f" * 160)) == [
        Media(
            payload=b"\x7f" * 160,
            track="inbound",
            timestamp=40,
            chunk=2,
            stream_id=SID,
            sequence_number=4,
        )
    ]


def test_in_order_media_passes_straight_through() -> None:
    codec = started()
    assert [chunks(feed(codec, media(i))) for i in range(1, 5)] == [[1], [2], [3], [4]]


def test_out_of_order_media_is_reordered() -> None:
    codec = started()
    got = [chunks(feed(codec, media(i))) for i in (1, 3, 4, 2, 5)]
    assert got == [[1], [], [], [2, 3, 4], [5]]


def test_a_lost_frame_is_given_up_when_the_window_overflows_and_late_arrivals_dropped() -> None:
    codec = started(TelnyxCodec(reorder_window=2))
    got = [chunks(feed(codec, media(i))) for i in (1, 3, 4, 5, 2, 6)]
    assert got == [[1], [], [], [3, 4, 5], [], [6]]
    assert codec.late_frames == 1


def test_tracks_are_reordered_independently() -> None:
    codec = started()
    assert chunks(feed(codec, media(1, "inbound"))) == [1]
    assert chunks(feed(codec, media(1, "outbound"))) == [1]
    assert chunks(feed(codec, media(3, "inbound"))) == []
    assert chunks(feed(codec, media(2, "outbound"))) == [2]
    assert chunks(feed(codec, media(2, "inbound"))) == [2, 3]


def test_stop_releases_held_frames_in_order_first() -> None:
    codec = started()
    feed(codec, media(1))
    feed(codec, media(4))
    feed(codec, media(3))
    stop = {
        "event": "stop",
        "sequence_number": "99",
        "stream_id": SID,
        "stop": {"user_id": "u", "call_control_id": CCID},
    }
    events = feed(codec, stop)
    assert chunks(events) == [3, 4]
    assert events[-1] == Stop(stream_id=SID, sequence_number=99)
    assert codec.state is StreamState.ENDED


def test_window_zero_delivers_in_arrival_order() -> None:
    codec = started(TelnyxCodec(reorder_window=0))
    assert [chunks(feed(codec, media(i))) for i in (1, 3, 2)] == [[1], [3], [2]]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            {"event": "dtmf", "stream_id": SID, "dtmf": {"digit": "#"}},
            Dtmf(digit="#", stream_id=SID),
        ),
        ({"event": "dtmf", "stream_id": SID, "digit": "4"}, Dtmf(digit="4", stream_id=SID)),
        (
            {"event": "mark", "stream_id": SID, "mark": {"name": "m1"}},
            PlayedStream(name="m1", stream_id=SID),
        ),
        (
            {
                "event": "error",
                "stream_id": SID,
                "payload": {"code": 100002, "title": "Unknown error", "detail": "boom"},
            },
            StreamError(reason="boom", stream_id=SID),
        ),
    ],
    ids=["dtmf-nested", "dtmf-flat", "mark", "error"],
)
def test_other_inbound(message: dict[str, Any], expected: Any) -> None:
    assert feed(started(), message) == [expected]


def test_outbound_has_no_stream_id() -> None:
    codec = started()
    assert json.loads(codec.send(PlayAudio(payload=b"\xff" * 160))) == {
        "event": "media",
        "media": {"payload": base64.b64encode(b"\xff" * 160).decode()},
    }
    assert json.loads(codec.send(Checkpoint(name="m"))) == {"event": "mark", "mark": {"name": "m"}}
    assert json.loads(codec.send(ClearAudio())) == {"event": "clear"}


def test_bad_settings() -> None:
    with pytest.raises(ConfigurationError):
        TelnyxCodec(reorder_window=-1)
    with pytest.raises(ConfigurationError):
        TelnyxCodec(l16_byte_order="middle")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        TelnyxCodec().send(ClearAudio())


def test_codec_names() -> None:
    assert TelnyxCodec.codec_name(MULAW_8K) == "PCMU"
