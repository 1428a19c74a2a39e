"""The browser conversation protocol (trio_plivo.protocol.browser): every message both ways,
every error, malformed frames refused one by one without ending the conversation."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_plivo import (
    L16_8K,
    L16_16K,
    AudioFormat,
    Encoding,
    LocalProtocolError,
    RemoteProtocolError,
)
from trio_plivo.protocol import (
    CONVERSATION_KINDS,
    PROVIDERS,
    BrowserCloseCode,
    BrowserCodec,
    Checkpoint,
    ClearAudio,
    ClearedAudio,
    ConversationKind,
    ConversationText,
    DetectingCodec,
    Dtmf,
    Hangup,
    Media,
    MuteStream,
    PlayAudio,
    PlayedStream,
    SendDtmf,
    SpeechStarted,
    SpeechStopped,
    Start,
    Stop,
    StreamState,
    UnknownEvent,
    UnmuteStream,
)
from trio_plivo.protocol.browser import parse_browser_start

START = {"type": "start", "sampleRate": 16000, "metadata": {"user": "ada", "n": 3}}
FRAME = bytes(range(256)) * 2 + bytes(128)  # 640 bytes: 20 ms at 16 kHz


def feed(codec: BrowserCodec, message: Any) -> list[Any]:
    return list(codec.receive(json.dumps(message) if isinstance(message, dict) else message))


def started(start: dict[str, Any] = START) -> BrowserCodec:
    codec = BrowserCodec()
    feed(codec, start)
    return codec


# --- start ---------------------------------------------------------------------------------


def test_start_announces_rate_and_metadata() -> None:
    codec = BrowserCodec()
    [start] = feed(codec, START)
    assert isinstance(start, Start)
    assert start.media_format == L16_16K
    assert start.extra_headers == {"user": "ada", "n": "3"}
    assert start.call_id == start.stream_id == codec.stream_id
    assert codec.state is StreamState.STREAMING
    assert codec.media_format == L16_16K


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000, 24000.0])
def test_every_supported_rate(rate: float) -> None:
    [start] = feed(BrowserCodec(), {"type": "start", "sampleRate": rate})
    assert start.media_format == AudioFormat(encoding=Encoding.L16, sample_rate=int(rate))
    assert start.media_format.byte_order == "little"


def test_rate_defaults_to_16k_and_metadata_to_nothing() -> None:
    [start] = feed(BrowserCodec(), {"type": "start"})
    assert start.media_format == L16_16K and start.extra_headers == {}


def test_each_conversation_gets_its_own_id() -> None:
    assert started().stream_id != started().stream_id


@pytest.mark.parametrize(
    ("first", "problem"),
    [
        ({"type": "start", "sampleRate": 44100}, "not one of 8000, 16000, 24000, 48000"),
        ({"type": "start", "sampleRate": "16000"}, "sampleRate '16000'"),
        ({"type": "start", "sampleRate": True}, "sampleRate True"),
        ({"type": "start", "metadata": ["x"]}, "metadata must be an object"),
        ({"type": "mute"}, "first message must be a start"),
        ({"sampleRate": 16000}, "first message must be a start"),
        ("not json", "malformed JSON"),
        ("[1, 2]", "expected a JSON object"),
        (FRAME, "binary frame of 640 bytes before start"),
    ],
)
def test_a_bad_start_is_a_bad_request_and_ends_the_stream(first: Any, problem: str) -> None:
    codec = BrowserCodec()
    with pytest.raises(RemoteProtocolError, match=problem):
        feed(codec, first)
    assert codec.state is StreamState.ENDED  # no conversation can start after it
    with pytest.raises(RemoteProtocolError):
        feed(codec, START)
    with pytest.raises(RemoteProtocolError):
        parse_browser_start(json.dumps(first) if isinstance(first, dict) else first)


def test_close_codes() -> None:
    assert [int(c) for c in BrowserCloseCode] == [4400, 4401, 4404]
    assert BrowserCloseCode.BAD_REQUEST == 4400


# --- client -> server ----------------------------------------------------------------------


def test_binary_frames_are_media_in_order() -> None:
    codec = started()
    [one] = feed(codec, FRAME)
    [two] = feed(codec, bytearray(FRAME[:320]))
    assert isinstance(one, Media) and one.payload == FRAME and one.chunk == 1
    assert two.payload == FRAME[:320] and type(two.payload) is bytes and two.chunk == 2
    assert one.stream_id == codec.stream_id


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"type": "startSpeaking"}, SpeechStarted),
        ({"type": "stopSpeaking"}, SpeechStopped),
        ({"type": "mute"}, MuteStream),
        ({"type": "unmute"}, UnmuteStream),
        ({"type": "cleared"}, ClearedAudio),
        ({"type": "StartSpeaking"}, SpeechStarted),  # micdrop's own client spelling
    ],
)
def test_control_messages(message: dict[str, Any], expected: type) -> None:
    codec = started()
    [event] = feed(codec, message)
    assert type(event) is expected
    assert event.stream_id == codec.stream_id


def test_mark_ack_is_played_stream() -> None:
    [event] = feed(started(), {"type": "mark", "name": "greeting"})
    assert event == PlayedStream(name="greeting", stream_id=event.stream_id)


def test_dtmf_keys_become_one_event_each() -> None:
    codec = started()
    events = feed(codec, {"type": "dtmf", "keys": "12#a"})
    assert [e.digit for e in events] == ["1", "2", "#", "A"]
    assert all(isinstance(e, Dtmf) for e in events)
    [single] = feed(codec, {"type": "dtmf", "digit": 5})
    assert single.digit == "5"


@pytest.mark.parametrize("name", ["hangup", "endCall", "endInterview", "EndCall"])
def test_hang_up_spellings_stop_the_stream(name: str) -> None:
    codec = started()
    [stop] = feed(codec, {"type": name})
    assert isinstance(stop, Stop) and name in (stop.reason or "")
    assert codec.state is StreamState.ENDED
    with pytest.raises(RemoteProtocolError, match="after the stream ended"):
        feed(codec, {"type": "mute"})
    with pytest.raises(RemoteProtocolError, match="after the stream ended"):
        feed(codec, FRAME)


def test_unknown_type_is_passed_on() -> None:
    message = {"type": "toolResult", "value": 1}
    [event] = feed(started(), message)
    assert event == UnknownEvent(event="toolResult", raw=message, stream_id=event.stream_id)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (b"\x01\x02\x03", "not whole PCM16 samples"),
        (b"", "not whole PCM16 samples"),
        ("{", "malformed JSON"),
        ('"mute"', "expected a JSON object"),
        ({"kind": "mute"}, "no 'type' string"),
        ({"type": 7}, "no 'type' string"),
        ({"type": "mark"}, "without a name"),
        ({"type": "dtmf"}, "without a keys"),
        ({"type": "dtmf", "keys": "1x"}, "not 0-9 A-D"),
        (START, "second start"),
    ],
)
def test_malformed_frames_mid_call_are_refused_one_by_one(message: Any, problem: str) -> None:
    codec = started()
    with pytest.raises(RemoteProtocolError, match=problem):
        feed(codec, message)
    # The conversation goes on: the next good frame is understood.
    assert codec.state is StreamState.STREAMING
    [media] = feed(codec, FRAME)
    assert isinstance(media, Media)


@settings(max_examples=300)
@given(st.one_of(st.text(), st.binary()))
def test_anything_is_events_or_our_error(message: str | bytes) -> None:
    for codec in (BrowserCodec(), started()):
        try:
            events = codec.receive(message)
        except RemoteProtocolError:
            continue
        assert isinstance(events, tuple)


# --- server -> client ----------------------------------------------------------------------


def test_audio_goes_out_as_binary() -> None:
    assert started().send(PlayAudio(payload=FRAME)) == FRAME
    assert started().send(PlayAudio(payload=FRAME, audio_format=L16_16K)) == FRAME


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (Checkpoint(name="m-1"), {"type": "mark", "name": "m-1"}),
        (ClearAudio(), {"type": "clear"}),
        (Hangup(), {"type": "endCall"}),
        (
            ConversationText(kind="assistantMessage", text="Hello"),
            {"type": "assistantMessage", "text": "Hello"},
        ),
        (
            ConversationText(kind="userMessage", text="I'd like a table"),
            {"type": "userMessage", "text": "I'd like a table"},
        ),
        (
            ConversationText(kind="cancelLastAssistantMessage", text="Hel"),
            {"type": "cancelLastAssistantMessage", "text": "Hel"},
        ),
    ],
)
def test_commands_go_out_as_json(command: Any, wire: dict[str, Any]) -> None:
    message = started().send(command)
    assert isinstance(message, str)
    assert json.loads(message) == wire


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        (PlayAudio(payload=b"\x00"), "not whole PCM16 samples"),
        (PlayAudio(payload=b""), "not whole PCM16 samples"),
        (PlayAudio(payload=FRAME, audio_format=L16_8K), "convert it first"),
        (Checkpoint(name=""), "non-empty name"),
        (SendDtmf(digits="1"), "in-band tones"),
        ("nonsense", "not a command"),
    ],
)
def test_commands_the_protocol_forbids(command: Any, problem: str) -> None:
    with pytest.raises(LocalProtocolError, match=problem):
        started().send(command)


@pytest.mark.parametrize("state", ["before start", "after hang-up"])
def test_nothing_is_sent_outside_a_conversation(state: str) -> None:
    codec = BrowserCodec() if state == "before start" else started()
    if state == "after hang-up":
        feed(codec, {"type": "hangup"})
    with pytest.raises(LocalProtocolError, match="while the stream is"):
        codec.send(ClearAudio())


def test_conversation_text_is_checked_when_made() -> None:
    assert get_args(ConversationKind) == CONVERSATION_KINDS
    with pytest.raises(LocalProtocolError, match="unknown conversation message kind"):
        ConversationText(kind="systemMessage", text="x")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="must be a str"):
        ConversationText(kind="userMessage", text=b"x")  # type: ignore[arg-type]


# --- the seam ------------------------------------------------------------------------------


def test_capabilities() -> None:
    codec = BrowserCodec()
    assert codec.provider == "browser" and codec.frame_ms == 20
    assert codec.supports_text_messages and codec.supports_hangup and codec.has_dtmf_events
    assert not codec.supports_dtmf_out
    # Phone providers have no screen.
    for name, factory in PROVIDERS.items():
        assert not factory().supports_text_messages, name


def test_never_detected_from_a_phone_stream() -> None:
    assert "browser" not in PROVIDERS
    codec = DetectingCodec()
    with pytest.raises(RemoteProtocolError, match="cannot detect"):
        codec.receive(json.dumps(START))
