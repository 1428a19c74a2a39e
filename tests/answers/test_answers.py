"""Answer documents for Twilio, SignalWire, Telnyx, Vonage and KooKoo."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from trio_plivo import L16_16K, ConfigurationError
from trio_plivo.answers import (
    kookoo_stream,
    signalwire_stream,
    telnyx_stream,
    twilio_stream,
    vonage_ncco,
    vonage_ncco_json,
)

DECL = '<?xml version="1.0" encoding="UTF-8"?>'


def test_twilio_connect_stream_with_parameters() -> None:
    assert twilio_stream(
        "wss://bot.example.com/stream?x=1&y=2", parameters={"tenant": "acme", "lead": 42}
    ) == (
        DECL + '<Response><Connect><Stream url="wss://bot.example.com/stream?x=1&amp;y=2">'
        '<Parameter name="tenant" value="acme" /><Parameter name="lead" value="42" />'
        "</Stream></Connect></Response>"
    )


def test_twilio_start_stream_for_a_tap() -> None:
    doc = twilio_stream(
        "wss://tap.example.com/s",
        bidirectional=False,
        name="tap",
        track="both_tracks",
        status_callback="https://app.example.com/status",
        status_callback_method="post",
    )
    stream = ET.fromstring(doc.removeprefix(DECL)).find("Start/Stream")
    assert stream is not None
    assert stream.attrib == {
        "url": "wss://tap.example.com/s",
        "name": "tap",
        "track": "both_tracks",
        "statusCallback": "https://app.example.com/status",
        "statusCallbackMethod": "POST",
    }


def test_values_are_escaped() -> None:
    doc = twilio_stream("wss://h/s", parameters={'a"<b>': "x' & </Stream>"})
    param = ET.fromstring(doc.removeprefix(DECL)).find("Connect/Stream/Parameter")
    assert param is not None and param.attrib == {"name": 'a"<b>', "value": "x' & </Stream>"}


@pytest.mark.parametrize(
    "options",
    [
        {"url": "ws://plain.example.com/s"},
        {"url": "https://h/s"},
        {"url": "wss:///nohost"},
        {"url": ""},
        {"track": "inbound"},
        {"track": "both_tracks"},  # not with <Connect>
        {"status_callback": "ftp://x/y"},
        {"status_callback_method": "PUT"},
        {"parameters": {"": "x"}},
        {"parameters": {"a": None}},
        {"parameters": {"a": True}},
        {"parameters": ["a"]},
        {"name": " "},
        {"bidirectional": "yes"},
    ],
)
def test_twilio_refuses_what_twilio_would(options: dict[str, Any]) -> None:
    url = options.pop("url", "wss://h/s")
    with pytest.raises(ConfigurationError):
        twilio_stream(url, **options)


def test_signalwire_codec_and_token() -> None:
    doc = signalwire_stream("wss://h/s", codec="L16@16000h", auth_bearer_token="tok", realtime=True)
    stream = ET.fromstring(doc.removeprefix(DECL)).find("Connect/Stream")
    assert stream is not None
    assert stream.attrib == {
        "url": "wss://h/s",
        "codec": "L16@16000h",
        "authBearerToken": "tok",
        "realtime": "true",
    }
    assert 'codec="L16@16000h"' in signalwire_stream("wss://h/s", codec=L16_16K)


@pytest.mark.parametrize(
    "options",
    [{"codec": "MP3@8000h"}, {"codec": 5}, {"realtime": "yes"}, {"auth_bearer_token": ""}],
)
def test_signalwire_refusals(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        signalwire_stream("wss://h/s", **options)


def test_signalwire_wants_wss() -> None:
    with pytest.raises(ConfigurationError, match="wss://"):
        signalwire_stream("ws://h/s")


def test_telnyx_texml() -> None:
    doc = telnyx_stream(
        "wss://h/s",
        bidirectional_codec="L16",
        bidirectional_sampling_rate=16000,
        codec="PCMU",
        parameters={"k": "v"},
    )
    root = ET.fromstring(doc.removeprefix(DECL))
    stream = root.find("Connect/Stream")
    assert stream is not None
    assert stream.attrib == {
        "url": "wss://h/s",
        "codec": "PCMU",
        "bidirectionalMode": "rtp",
        "bidirectionalCodec": "L16",
        "bidirectionalSamplingRate": "16000",
    }
    assert [p.attrib for p in stream] == [{"name": "k", "value": "v"}]
    tap = ET.fromstring(telnyx_stream("ws://h/s", bidirectional=False).removeprefix(DECL))
    assert tap.find("Start/Stream") is not None
    assert "bidirectionalMode" not in tap.find("Start/Stream").attrib  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "options",
    [
        {"bidirectional_codec": "MP3"},
        {"bidirectional_sampling_rate": 11025},
        {"bidirectional": False, "bidirectional_sampling_rate": 16000},
        {"codec": "speex"},
    ],
)
def test_telnyx_refusals(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        telnyx_stream("wss://h/s", **options)


def test_vonage_ncco() -> None:
    ncco = vonage_ncco("wss://h/socket", headers={"uuid": "abc", "tenant": "acme"})
    assert ncco == [
        {
            "action": "connect",
            "endpoint": [
                {
                    "type": "websocket",
                    "uri": "wss://h/socket",
                    "content-type": "audio/l16;rate=16000",
                    "headers": {"uuid": "abc", "tenant": "acme"},
                }
            ],
        }
    ]
    assert json.loads(vonage_ncco_json("ws://h/s", content_type="audio/l16;rate=8000"))[0][
        "endpoint"
    ][0] == {"type": "websocket", "uri": "ws://h/s", "content-type": "audio/l16;rate=8000"}


@pytest.mark.parametrize(
    "options",
    [
        {"content_type": "audio/x-mulaw;rate=8000"},
        {"content_type": "audio/l16;rate=44100"},
        {"content_type": "nonsense"},
        {"headers": {"big": "x" * 600}},
        {"headers": {"obj": object()}},
        {"headers": {1: "x"}},
    ],
)
def test_vonage_refusals(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        vonage_ncco("wss://h/s", **options)


def test_kookoo_stream() -> None:
    doc = kookoo_stream("wss://app/ws", "08012345678", x_uui={"lead": 42, "name": "A & B"})
    assert doc == (
        DECL + '<response><stream is_sip="true" url="wss://app/ws" '
        'x-uui="{&quot;lead&quot;:42,&quot;name&quot;:&quot;A &amp; B&quot;}">08012345678'
        "</stream></response>"
    )
    stream = ET.fromstring(doc.removeprefix(DECL)).find("stream")
    assert stream is not None and json.loads(stream.attrib["x-uui"]) == {
        "lead": 42,
        "name": "A & B",
    }


@pytest.mark.parametrize(
    ("url", "number", "options"),
    [
        ("https://app/ws", "123", {}),
        ("wss://app/ws", "", {}),
        ("wss://app/ws", "12 3<", {}),
        ("wss://app/ws", "123", {"is_sip": "true"}),
        ("wss://app/ws", "123", {"x_uui": {"a": object()}}),
    ],
)
def test_kookoo_refusals(url: str, number: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        kookoo_stream(url, number, **options)
