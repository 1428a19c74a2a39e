"""Whatever a provider sends, the parser yields events or our RemoteProtocolError."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from test_protocol_plivo import MEDIA, START

from trio_plivo import RemoteProtocolError
from trio_plivo.protocol import PlivoCodec

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
event_names = st.sampled_from(
    [
        "start",
        "media",
        "dtmf",
        "playedStream",
        "played",
        "clearedAudio",
        "stop",
        "playFailed",
        "error",
        "muteStream",
        "unmuteStream",
        "other",
    ]
)


def feed(codec: PlivoCodec, message: str | bytes) -> None:
    try:
        events = codec.receive(message)
    except RemoteProtocolError:
        return
    assert isinstance(events, tuple | list)


@settings(max_examples=300)
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    for codec in (PlivoCodec(), _started()):
        feed(codec, text)


@settings(max_examples=200)
@given(st.binary())
def test_arbitrary_bytes(data: bytes) -> None:
    feed(_started(), data)


@settings(max_examples=500)
@given(event_names, st.dictionaries(st.text(max_size=12), json_values, max_size=6), json_values)
def test_arbitrary_json_objects(name: str, fields: dict[str, object], body: object) -> None:
    message = {**fields, "event": name, name: body}
    for codec in (PlivoCodec(), _started()):
        feed(codec, json.dumps(message))


@settings(max_examples=300)
@given(st.sampled_from([START, MEDIA]), st.data())
def test_mutated_real_messages(base: dict[str, object], data: st.DataObject) -> None:
    # Replace one top-level or nested value of a real message with arbitrary JSON.
    message = json.loads(json.dumps(base))
    body_key = message["event"]
    target = data.draw(st.sampled_from([message, message[body_key]]))
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(json_values)
    for codec in (PlivoCodec(), _started()):
        feed(codec, json.dumps(message))


def _started() -> PlivoCodec:
    codec = PlivoCodec()
    codec.receive(json.dumps(START))
    return codec
