"""KooKoo / Ozonetel (protocols.md §7): sample arrays, per-packet acks as checkpoints."""

from __future__ import annotations

import itertools
import json
from array import array
from typing import Any

import pytest

from trio_plivo import L16_8K, L16_16K, LocalProtocolError, RemoteProtocolError
from trio_plivo.protocol import (
    Checkpoint,
    ClearAudio,
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
from trio_plivo.protocol.kookoo import KooKooCodec

UCID = "2127173829829211"
START = {
    "event": "start",
    "type": "text",
    "ucid": UCID,
    "did": "918049000000",
    "call_id": "919700000000",
    "x_account": "acme_acct",
    "x_headers": json.dumps({"cid": "919700000000", "operator": "airtel"}),
    "media": {
        "encoding": "PCMU",
        "sampleRate": 8000,
        "channels": 1,
        "bitsPerSample": 16,
        "payloadType": 0,
    },
}
SAMPLES = [8, 8, -3, 32767, -32768] + [0] * 75


def media(samples: list[int] = SAMPLES, rate: int = 8000) -> dict[str, Any]:
    return {
        "event": "media",
        "type": "media",
        "ucid": UCID,
        "data": {
            "samples": samples,
            "bitsPerSample": 16,
            "sampleRate": rate,
            "channelCount": 1,
            "numberOfFrames": len(samples),
            "type": "data",
        },
    }


def ack(seqid: str) -> dict[str, Any]:
    return {
        "event": "mark",
        "type": "ack",
        "ucid": UCID,
        "seqid": seqid,
        "timestamp": 1761560089206,
    }


def pcm(samples: list[int]) -> bytes:
    return array("h", samples).tobytes()


def feed(codec: KooKooCodec, message: Any) -> list[Any]:
    return list(codec.receive(json.dumps(message) if isinstance(message, dict) else message))


def started() -> KooKooCodec:
    numbers = itertools.count(1)
    codec = KooKooCodec(seqid_factory=lambda: f"seq-{next(numbers)}")
    feed(codec, START)
    return codec


def play(codec: KooKooCodec) -> str:
    message = json.loads(codec.send(PlayAudio(payload=pcm(SAMPLES))))
    return message["seqid"]


def names(events: list[Any]) -> list[str]:
    return [e.name for e in events if isinstance(e, PlayedStream)]


def test_start_example() -> None:
    codec = KooKooCodec()
    assert feed(codec, START) == [
        Start(
            call_id=UCID,
            stream_id=UCID,
            account_id="acme_acct",
            media_format=L16_8K,
            extra_headers={"cid": "919700000000", "operator": "airtel"},
            extra_headers_raw=START["x_headers"],
            custom_parameters={"did": "918049000000", "caller": "919700000000"},
        )
    ]
    assert codec.state is StreamState.STREAMING


def test_the_first_16k_packet_is_discarded_then_samples_become_pcm16() -> None:
    codec = started()
    assert feed(codec, media([0] * 160, rate=16000)) == []
    assert feed(codec, media()) == [Media(payload=pcm(SAMPLES), stream_id=UCID)]
    with pytest.raises(RemoteProtocolError, match="16000"):
        feed(codec, media([0] * 160, rate=16000))  # only the first one is a known quirk


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (media([1.5] * 80), "samples"),
        (media([40000]), "samples"),
        (media(["1"]), "samples"),
        (media([]), "no samples"),
        ({**media(), "data": {"samples": "1,2"}}, "samples"),
        ({**media(), "data": None}, "data"),
        ({**media(), "ucid": "other"}, "another call"),
        (media(rate=11025), "11025"),
        (ack("x") | {"ucid": "other"}, "another call"),
        (START, "second start"),
    ],
)
def test_malformed(message: dict[str, Any], match: str) -> None:
    codec = started()
    with pytest.raises(RemoteProtocolError, match=match):
        feed(codec, message)


def test_outbound_media_carries_samples_and_a_fresh_seqid() -> None:
    codec = started()
    first = json.loads(codec.send(PlayAudio(payload=pcm(SAMPLES))))
    second = json.loads(codec.send(PlayAudio(payload=pcm(SAMPLES))))
    assert first == {
        "event": "media",
        "type": "media",
        "ucid": UCID,
        "seqid": "seq-1",
        "data": {
            "samples": SAMPLES,
            "bitsPerSample": 16,
            "sampleRate": 8000,
            "channelCount": 1,
            "numberOfFrames": 80,
            "type": "data",
        },
    }
    assert second["seqid"] == "seq-2"


def test_default_seqids_are_unique_uuids() -> None:
    codec = KooKooCodec()
    feed(codec, START)
    ids = {json.loads(codec.send(PlayAudio(payload=pcm(SAMPLES))))["seqid"] for _ in range(3)}
    assert len(ids) == 3 and all(len(i) == 36 for i in ids)


def test_checkpoint_is_emulated_from_the_ack_of_the_last_packet_before_it() -> None:
    codec = started()
    one, two = play(codec), play(codec)
    assert codec.send(Checkpoint(name="end")) is None  # nothing on the wire
    three = play(codec)
    assert names(feed(codec, ack(one))) == []
    assert names(feed(codec, ack(two))) == ["end"]
    assert names(feed(codec, ack(three))) == []


def test_a_later_ack_covers_earlier_checkpoints() -> None:
    codec = started()
    play(codec)
    codec.send(Checkpoint(name="a"))
    play(codec)
    codec.send(Checkpoint(name="b"))
    last = play(codec)
    assert names(feed(codec, ack(last))) == ["a", "b"]


def test_checkpoint_with_nothing_unplayed_is_reported_with_the_next_message() -> None:
    codec = started()
    codec.send(Checkpoint(name="now"))
    events = feed(codec, media())
    assert names(events) == ["now"]
    assert isinstance(events[-1], Media)
    one = play(codec)
    feed(codec, ack(one))
    codec.send(Checkpoint(name="after-played"))
    assert names(feed(codec, media())) == ["after-played"]


def test_clear_sends_clear_buffer_and_forgets_tracked_packets() -> None:
    codec = started()
    one = play(codec)
    codec.send(Checkpoint(name="cleared"))
    assert json.loads(codec.send(ClearAudio())) == {"command": "clearBuffer"}
    assert feed(codec, ack(one)) == []  # a late ack resolves nothing
    two = play(codec)
    codec.send(Checkpoint(name="fresh"))
    assert names(feed(codec, ack(two))) == ["fresh"]


def test_unknown_ack_and_unknown_events() -> None:
    codec = started()
    assert feed(codec, ack("never-sent")) == []
    assert feed(codec, {"event": "mark", "ucid": UCID}) == []
    assert feed(codec, {"event": "other", "ucid": UCID}) == [
        UnknownEvent(event="other", raw={"event": "other", "ucid": UCID}, stream_id=UCID)
    ]


def test_hangup_and_stop() -> None:
    codec = started()
    assert json.loads(codec.send(Hangup())) == {"command": "callDisconnect"}
    assert feed(codec, {"event": "stop", "type": "text", "ucid": UCID, "did": "918049000000"}) == [
        Stop(stream_id=UCID)
    ]
    assert codec.state is StreamState.ENDED


@pytest.mark.parametrize(
    ("command", "match"),
    [
        (SendDtmf(digits="1"), "in-band"),
        (Checkpoint(name=""), "non-empty"),
        (PlayAudio(payload=b"\x01"), "whole"),
        (PlayAudio(payload=bytes(640), audio_format=L16_16K), "convert"),
        (None, "not a command"),
    ],
)
def test_outbound_refusals(command: Any, match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        started().send(command)


def test_capabilities() -> None:
    codec = KooKooCodec()
    assert (codec.provider, codec.frame_ms) == ("kookoo", 10)
    assert codec.supports_hangup and not codec.has_dtmf_events and not codec.supports_dtmf_out
    assert L16_8K.bytes_for(codec.frame_ms) == 160  # 80 samples


def test_nothing_before_start() -> None:
    with pytest.raises(RemoteProtocolError, match="awaiting start"):
        feed(KooKooCodec(), media())
    with pytest.raises(RemoteProtocolError, match="before start"):
        feed(KooKooCodec(), ack("x"))
