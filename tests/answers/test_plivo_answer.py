"""Plivo XML builder: every attribute, every validation error, escaping, parse-back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat, ConfigurationError, Encoding
from trio_plivo.answers import Hangup, Play, Redirect, Response, Speak, Stream, Wait

WSS = "wss://bot.example.com/plivo/stream"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def parse(response: Response) -> ET.Element:
    text = response.to_xml()
    assert text.startswith(DECLARATION)
    assert str(response) == text
    root = ET.fromstring(text)
    assert root.tag == "Response"
    return root


def only_child(response: Response) -> ET.Element:
    (child,) = list(parse(response))
    return child


def test_minimal_stream_has_url_text_and_no_attributes() -> None:
    element = only_child(Response(Stream(WSS)))
    assert element.tag == "Stream"
    assert element.text == WSS
    assert element.attrib == {}


def test_stream_every_attribute() -> None:
    stream = Stream(
        WSS,
        bidirectional=True,
        audio_track="inbound",
        stream_timeout=600,
        status_callback_url="https://bot.example.com/stream-status",
        status_callback_method="get",
        content_type=L16_16K,
        extra_headers={"tenant": "acme", "lead": "42"},
        keep_call_alive=True,
        noise_cancellation=True,
        noise_cancellation_level=70,
    )
    element = only_child(Response(stream))
    assert element.text == WSS
    assert element.attrib == {
        "bidirectional": "true",
        "audioTrack": "inbound",
        "streamTimeout": "600",
        "statusCallbackUrl": "https://bot.example.com/stream-status",
        "statusCallbackMethod": "GET",
        "contentType": "audio/x-l16;rate=16000",
        "extraHeaders": "tenant=acme,lead=42",
        "keepCallAlive": "true",
        "noiseCancellation": "true",
        "noiseCancellationLevel": "70",
    }


def test_false_booleans_render_as_false() -> None:
    element = only_child(
        Response(Stream(WSS, bidirectional=False, keep_call_alive=False, noise_cancellation=False))
    )
    assert element.attrib == {
        "bidirectional": "false",
        "keepCallAlive": "false",
        "noiseCancellation": "false",
    }


@pytest.mark.parametrize("track", ["outbound", "both", "inbound"])
def test_one_way_stream_allows_every_track(track: str) -> None:
    assert only_child(Response(Stream(WSS, audio_track=track))).get("audioTrack") == track


@pytest.mark.parametrize(
    ("given", "rendered"),
    [
        (MULAW_8K, "audio/x-mulaw;rate=8000"),
        (L16_8K, "audio/x-l16;rate=8000"),
        (L16_16K, "audio/x-l16;rate=16000"),
        ("audio/x-mulaw;rate=8000", "audio/x-mulaw;rate=8000"),
        ("audio/x-l16;rate=16000", "audio/x-l16;rate=16000"),
        ("AUDIO/X-L16; rate=8000", "audio/x-l16;rate=8000"),
    ],
)
def test_content_type_forms(given: AudioFormat | str, rendered: str) -> None:
    stream = Stream(WSS, content_type=given)
    assert only_child(Response(stream)).get("contentType") == rendered
    assert stream.audio_format.to_content_type() == rendered


def test_audio_format_defaults_to_plivo_documented_l16_8k() -> None:
    assert Stream(WSS).audio_format == L16_8K


def test_extra_headers_string_is_normalised() -> None:
    assert Stream(WSS, extra_headers="a=1;b=2").extra_headers == "a=1,b=2"
    assert Stream(WSS, extra_headers="a=1,b=2").extra_headers == "a=1,b=2"
    assert Stream(WSS, extra_headers={}).extra_headers is None


def test_stream_url_whitespace_trimmed_and_ws_allowed() -> None:
    assert Stream("  ws://localhost:8000/s \n").url == "ws://localhost:8000/s"


# --- validation errors ------------------------------------------------------------------------

STREAM_ERRORS: list[tuple[str, dict[str, Any]]] = [
    ("https://bot.example.com/stream", {}),
    ("bot.example.com/stream", {}),
    ("wss://", {}),
    (WSS, {"bidirectional": True, "audio_track": "outbound"}),
    (WSS, {"bidirectional": True, "audio_track": "both"}),
    (WSS, {"audio_track": "left"}),
    (WSS, {"bidirectional": "true"}),
    (WSS, {"keep_call_alive": 1}),
    (WSS, {"noise_cancellation": "false"}),
    (WSS, {"stream_timeout": 0}),
    (WSS, {"stream_timeout": -5}),
    (WSS, {"stream_timeout": 1.5}),
    (WSS, {"stream_timeout": True}),
    (WSS, {"status_callback_url": "wss://bot.example.com/cb"}),
    (WSS, {"status_callback_url": "/relative"}),
    (WSS, {"status_callback_method": "PUT"}),
    (WSS, {"content_type": "audio/x-mulaw;rate=16000"}),
    (WSS, {"content_type": "audio/x-alaw;rate=8000"}),
    (WSS, {"content_type": "audio/opus"}),
    (WSS, {"content_type": AudioFormat(encoding=Encoding.L16, sample_rate=16000, channels=2)}),
    (WSS, {"content_type": 8000}),
    (WSS, {"extra_headers": {"tenant": "acme corp"}}),
    (WSS, {"extra_headers": {"ten-ant": "acme"}}),
    (WSS, {"extra_headers": {"tenant": ""}}),
    (WSS, {"extra_headers": "tenant"}),
    (WSS, {"extra_headers": "a=1&b=2"}),
    (WSS, {"extra_headers": {f"k{i}": "v" * 40 for i in range(12)}}),
    (WSS, {"extra_headers": ["a=1"]}),
    (WSS, {"noise_cancellation": True, "noise_cancellation_level": 59}),
    (WSS, {"noise_cancellation": True, "noise_cancellation_level": 101}),
    (WSS, {"noise_cancellation_level": 80}),
]


@pytest.mark.parametrize(("url", "kwargs"), STREAM_ERRORS)
def test_stream_validation_errors(url: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Stream(url, **kwargs)


def test_extra_headers_limit_is_512_bytes() -> None:
    exactly = {"k": "v" * 510}  # "k=" + 510 = 512 bytes
    assert Stream(WSS, extra_headers=exactly).extra_headers == "k=" + "v" * 510
    with pytest.raises(ConfigurationError, match="512"):
        Stream(WSS, extra_headers={"k": "v" * 511})


def test_noise_cancellation_level_bounds_inclusive() -> None:
    for level in (60, 100):
        assert Stream(WSS, noise_cancellation=True, noise_cancellation_level=level)


def test_error_messages_name_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="audio_track"):
        Stream(WSS, bidirectional=True, audio_track="both")
    with pytest.raises(ConfigurationError, match="content_type"):
        Stream(WSS, content_type="audio/x-mulaw;rate=16000")
    with pytest.raises(ConfigurationError, match="ws://"):
        Stream("http://x.example/s")


# --- other verbs ------------------------------------------------------------------------------


def test_speak_attributes() -> None:
    element = only_child(Response(Speak("Hello", voice="WOMAN", language="en-GB", loop=2)))
    assert element.tag == "Speak"
    assert element.text == "Hello"
    assert element.attrib == {"voice": "WOMAN", "language": "en-GB", "loop": "2"}


def test_play_attributes() -> None:
    element = only_child(Response(Play("https://cdn.example/hold.mp3", loop=0)))
    assert (element.tag, element.text, element.attrib) == (
        "Play",
        "https://cdn.example/hold.mp3",
        {"loop": "0"},
    )


def test_wait_attributes() -> None:
    element = only_child(Response(Wait(length=10, silence=True, min_silence=500, beep=True)))
    assert element.tag == "Wait"
    assert element.text is None
    assert element.attrib == {
        "length": "10",
        "silence": "true",
        "minSilence": "500",
        "beep": "true",
    }


def test_hangup_attributes() -> None:
    assert only_child(Response(Hangup())).attrib == {}
    element = only_child(Response(Hangup(reason="busy", schedule=30)))
    assert element.attrib == {"reason": "busy", "schedule": "30"}


def test_redirect_attributes() -> None:
    element = only_child(Response(Redirect("https://app.example/next", method="post")))
    assert (element.text, element.attrib) == ("https://app.example/next", {"method": "POST"})


@pytest.mark.parametrize(
    "build",
    [
        lambda: Speak(""),
        lambda: Speak("   "),
        lambda: Speak("hi", loop=-1),
        lambda: Speak("hi", voice=""),
        lambda: Play("ftp://cdn.example/a.mp3"),
        lambda: Play("https://cdn.example/a.mp3", loop=-1),
        lambda: Wait(length=0),
        lambda: Wait(min_silence=500),
        lambda: Wait(silence="yes"),  # type: ignore[arg-type]
        lambda: Hangup(reason="bored"),
        lambda: Hangup(schedule=0),
        lambda: Redirect("wss://app.example/next"),
        lambda: Redirect("https://app.example/next", method="DELETE"),
        lambda: Response("<Speak>raw</Speak>"),  # type: ignore[arg-type]
    ],
)
def test_other_verb_validation_errors(build: Any) -> None:
    with pytest.raises(ConfigurationError):
        build()


# --- document ---------------------------------------------------------------------------------


def test_verbs_keep_their_order() -> None:
    root = parse(
        Response(Speak("one"), Wait(length=1), Stream(WSS), Play("https://c.example/a.wav"))
    )
    assert [child.tag for child in root] == ["Speak", "Wait", "Stream", "Play"]


def test_empty_response() -> None:
    assert list(parse(Response())) == []
    assert Response().media_type == "application/xml"


def test_escaping_of_untrusted_text_round_trips() -> None:
    nasty = "Tom & Jerry say \"<hi>\" </Speak><Hangup/> 'ok'"
    url = "wss://bot.example.com/s?a=1&b=<2>&c=\"3\"&d='4'"
    callback = 'https://bot.example.com/cb?x=1&y="2"'
    response = Response(Speak(nasty), Stream(url, status_callback_url=callback))
    text = response.to_xml()
    assert "<Hangup" not in text  # the injected element stayed text
    assert "&amp;" in text
    assert "&lt;" in text
    speak, stream = list(ET.fromstring(text))
    assert speak.text == nasty
    assert stream.text == url
    assert stream.get("statusCallbackUrl") == callback


def test_verbs_are_immutable_values() -> None:
    assert Stream(WSS, bidirectional=True) == Stream(WSS, bidirectional=True)
    assert Stream(WSS) != Stream(WSS, bidirectional=True)
    stream = Stream(WSS)
    with pytest.raises(AttributeError):
        stream.url = "wss://elsewhere.example/"  # type: ignore[misc]
