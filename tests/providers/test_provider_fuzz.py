"""Whatever a provider sends, every codec yields events or our RemoteProtocolError."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import test_exotel_codec as exotel
import test_kookoo_codec as kookoo
import test_telnyx_codec as telnyx
import test_twilio_codec as twilio
import test_vonage_codec as vonage
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_plivo import RemoteProtocolError
from trio_plivo.protocol._detect import DetectingCodec
from trio_plivo.protocol.exotel import ExotelCodec
from trio_plivo.protocol.kookoo import KooKooCodec
from trio_plivo.protocol.signalwire import SignalWireCodec
from trio_plivo.protocol.telnyx import TelnyxCodec
from trio_plivo.protocol.twilio import TwilioCodec
from trio_plivo.protocol.vonage import VonageCodec

# (fresh codec, its start message, event names, nested body keys worth fuzzing)
CODECS: dict[str, tuple[Callable[[], Any], dict[str, Any], list[str]]] = {
    "twilio": (
        TwilioCodec,
        twilio.START,
        ["connected", "start", "media", "dtmf", "mark", "stop", "clear", "error"],
    ),
    "signalwire": (SignalWireCodec, twilio.START, ["start", "media", "mark"]),
    "exotel": (ExotelCodec, exotel.START, ["connected", "start", "media", "dtmf", "mark", "stop"]),
    "telnyx": (
        lambda: TelnyxCodec(reorder_window=2),
        telnyx.START,
        ["start", "media", "dtmf", "mark", "stop", "error"],
    ),
    "vonage": (
        VonageCodec,
        vonage.CONNECTED,
        [
            "websocket:connected",
            "websocket:dtmf",
            "websocket:notify",
            "websocket:cleared",
            "websocket:hangup",
        ],
    ),
    "kookoo": (KooKooCodec, kookoo.START, ["start", "media", "mark", "stop"]),
    "auto": (DetectingCodec, twilio.START, ["start", "connected", "websocket:connected"]),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "streamSid",
        "stream_sid",
        "stream_id",
        "media",
        "payload",
        "samples",
        "data",
        "mark",
        "name",
        "dtmf",
        "digit",
        "start",
        "stop",
        "track",
        "chunk",
        "sequenceNumber",
        "sequence_number",
        "ucid",
        "seqid",
        "content-type",
        "callSid",
        "call_sid",
        "call_control_id",
        "mediaFormat",
        "media_format",
        "encoding",
        "sampleRate",
        "sample_rate",
        "payload",
        "x_headers",
        "customParameters",
        "reason",
        "event",
    ]
)


def feed(codec: Any, message: str | bytes) -> None:
    try:
        events = codec.receive(message)
    except RemoteProtocolError:
        return
    assert isinstance(events, tuple | list)


def started(name: str) -> Any:
    factory, start, _ = CODECS[name]
    codec = factory()
    codec.receive(json.dumps(start))
    return codec


@settings(max_examples=150)
@given(st.sampled_from(sorted(CODECS)), st.text() | st.binary())
def test_arbitrary_frames(name: str, frame: str | bytes) -> None:
    feed(CODECS[name][0](), frame)
    feed(started(name), frame)


@settings(max_examples=400)
@given(st.sampled_from(sorted(CODECS)), st.data())
def test_json_objects_with_real_event_names(name: str, data: st.DataObject) -> None:
    event = data.draw(st.sampled_from([*CODECS[name][2], "other"]))
    body = data.draw(st.dictionaries(keys, json_values, max_size=6))
    nested = data.draw(
        st.dictionaries(
            keys, json_values | st.dictionaries(keys, json_values, max_size=4), max_size=5
        )
    )
    message = {"event": event, **body, data.draw(keys): nested}
    text = json.dumps(message)
    feed(CODECS[name][0](), text)
    codec = started(name)
    feed(codec, text)
    feed(codec, text)  # and again, in whatever state the first left it


@settings(max_examples=200)
@given(st.sampled_from(sorted(CODECS)), st.data())
def test_mutated_valid_messages(name: str, data: st.DataObject) -> None:
    factory, start, _ = CODECS[name]
    message = json.loads(json.dumps(start))
    target = message.get("start", message) if isinstance(message.get("start"), dict) else message
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(json_values)
    feed(factory(), json.dumps(message))
