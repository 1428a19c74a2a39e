"""Detecting the provider from the first message, and the name -> codec registry."""

from __future__ import annotations

import json
from typing import Any

import pytest
import test_exotel_codec as exotel
import test_kookoo_codec as kookoo
import test_telnyx_codec as telnyx
import test_twilio_codec as twilio
import test_vonage_codec as vonage

from trio_plivo import ConfigurationError, LocalProtocolError, RemoteProtocolError
from trio_plivo.protocol import ClearAudio, PlivoCodec, Start, StreamState
from trio_plivo.protocol._detect import DetectingCodec, detect_provider
from trio_plivo.protocol._registry import PROVIDERS, codec_factory_for, codec_for
from trio_plivo.protocol.exotel import ExotelCodec
from trio_plivo.protocol.kookoo import KooKooCodec
from trio_plivo.protocol.signalwire import SignalWireCodec
from trio_plivo.protocol.telnyx import TelnyxCodec
from trio_plivo.protocol.twilio import TwilioCodec
from trio_plivo.protocol.vonage import VonageCodec

PLIVO_START = {
    "event": "start",
    "sequenceNumber": 1,
    "start": {
        "callId": "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10",
        "streamId": "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655",
        "accountId": "MAXXXXXXXXXXXXXXXXXX",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
    },
}

FIRST_MESSAGES: list[tuple[str, list[dict[str, Any]], type]] = [
    ("plivo", [PLIVO_START], PlivoCodec),
    ("twilio", [twilio.CONNECTED, twilio.START], TwilioCodec),
    ("exotel", [{"event": "connected"}, exotel.START], ExotelCodec),
    ("exotel", [exotel.CAMEL_START], ExotelCodec),
    ("telnyx", [{"event": "connected", "version": "1.0.0"}, telnyx.START], TelnyxCodec),
    ("vonage", [vonage.CONNECTED], VonageCodec),
    ("kookoo", [kookoo.START], KooKooCodec),
]


@pytest.mark.parametrize(("provider", "messages", "codec_class"), FIRST_MESSAGES)
def test_detects_and_delegates(
    provider: str, messages: list[dict[str, Any]], codec_class: type
) -> None:
    codec = DetectingCodec()
    assert codec.provider == "auto"
    events: list[Any] = []
    for message in messages:
        events.extend(codec.receive(json.dumps(message)))
    assert [type(e) for e in events] == [Start]
    assert codec.provider == provider
    assert type(codec.codec) is codec_class
    assert codec.frame_ms == codec_class.frame_ms
    assert codec.supports_hangup == codec_class.supports_hangup
    assert codec.has_dtmf_events == codec_class.has_dtmf_events
    assert codec.state is StreamState.STREAMING
    assert codec.stream_id == events[0].stream_id
    assert codec.media_format == events[0].media_format
    assert codec.send(ClearAudio()) is not None  # delegated


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ('{"event":"hello"}', "event='hello'"),
        ('{"event":"start","start":{"foo":1}}', r"start keys \['foo'\]"),
        ('{"event":"start"}', "cannot detect"),
        ("not json", "not JSON"),
        ("[1,2]", "JSON list"),
        (b"\x00" * 320, "binary frame of 320 bytes"),
    ],
)
def test_an_unknown_first_message_is_impossible_to_miss(message: str | bytes, match: str) -> None:
    codec = DetectingCodec()
    with pytest.raises(RemoteProtocolError, match=match):
        codec.receive(message)
    assert codec.state is StreamState.ENDED  # the call can close with 1008 at once
    with pytest.raises(RemoteProtocolError, match="detection failed"):
        codec.receive(json.dumps(PLIVO_START))


def test_a_provider_that_is_not_enabled_is_named() -> None:
    codec = DetectingCodec({"plivo": PlivoCodec, "exotel": ExotelCodec})
    with pytest.raises(RemoteProtocolError, match="looks like twilio, which is not enabled"):
        codec.receive(json.dumps(twilio.START))


def test_twilio_shape_goes_to_signalwire_when_only_signalwire_is_enabled() -> None:
    codec = DetectingCodec({"signalwire": lambda: SignalWireCodec(codec="L16@16000h")})
    codec.receive(json.dumps(twilio.START))
    assert codec.provider == "signalwire"


def test_endless_greetings_are_refused() -> None:
    codec = DetectingCodec()
    for _ in range(3):
        assert codec.receive('{"event":"connected"}') == ()
    with pytest.raises(RemoteProtocolError, match="only 'connected'"):
        codec.receive('{"event":"connected"}')


def test_undecided_codec_refuses_to_send_and_can_close() -> None:
    codec = DetectingCodec()
    with pytest.raises(LocalProtocolError, match="before the provider is known"):
        codec.send(ClearAudio())
    codec.connection_closed()
    assert codec.state is StreamState.ENDED


def test_custom_factories_are_used() -> None:
    codec = DetectingCodec({"exotel": lambda: ExotelCodec(casing="camel")})
    codec.receive(json.dumps(exotel.START))
    assert '"streamSid"' in str(codec.send(ClearAudio()))


def test_only_detectable_providers_can_be_enabled() -> None:
    with pytest.raises(ConfigurationError, match="bandwidth"):
        DetectingCodec({"bandwidth": PlivoCodec})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"event": "connected", "protocol": "Call"}, "connected"),
        ({"event": "media", "ucid": "1"}, "kookoo"),
        ({"event": "stop"}, None),
    ],
)
def test_detect_provider_is_pure(message: dict[str, Any], expected: str | None) -> None:
    assert detect_provider(message) == expected


# --- registry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "codec_class"),
    [
        ("plivo", PlivoCodec),
        ("twilio", TwilioCodec),
        ("SignalWire", SignalWireCodec),
        ("exotel", ExotelCodec),
        ("telnyx", TelnyxCodec),
        ("vonage", VonageCodec),
        ("kookoo", KooKooCodec),
        ("ozonetel", KooKooCodec),
        (" auto ", DetectingCodec),
    ],
)
def test_codec_for(name: str, codec_class: type) -> None:
    codec = codec_for(name)
    assert type(codec) is codec_class
    assert codec_for(name) is not codec  # one codec per stream


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="known: auto, exotel, kookoo, plivo"):
        codec_factory_for("bandwidth")


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        PROVIDERS["x"] = PlivoCodec  # type: ignore[index]


def test_provider_matrix_is_generated_from_the_codecs() -> None:
    from trio_plivo.protocol._registry import provider_matrix_markdown

    matrix = provider_matrix_markdown()
    assert "| exotel | `exotel` | 100 ms |" in matrix
    assert (
        "| kookoo | `kookoo` | 10 ms | no | detected in audio | in-band tones | in-stream |"
        in matrix
    )
    assert "| plivo | `plivo` | 20 ms | no | events | native | `hangup_client` or close |" in matrix
    assert "auto" not in matrix
