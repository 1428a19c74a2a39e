"""The simulator's provider wires, sans-IO: each one against the app-side codec of the same
provider (what the wire sends the codec must read, what the codec sends the wire must accept),
plus the strict checks that catch what a real provider would refuse."""

from __future__ import annotations

import base64

import orjson
import pytest

from trio_plivo import MULAW_8K, ConfigurationError
from trio_plivo.protocol import (
    PROVIDERS,
    Checkpoint,
    ClearAudio,
    ClearedAudio,
    Dtmf,
    Media,
    PlayAudio,
    PlayedStream,
    Start,
    Stop,
)
from trio_plivo.protocol._detect import detect_provider
from trio_plivo.testing import FakeProvider, ViolationKind
from trio_plivo.testing._simulator._providers import (
    PHONE_PROVIDERS,
    SIMULATED,
    app_codec_for,
    provider_spec,
)
from trio_plivo.testing._simulator._validate import (
    CheckpointCommand,
    ClearAudioCommand,
    HangupCommand,
    PlayAudioCommand,
)
from trio_plivo.testing._simulator._wire import ProviderWire, WireMessage, WireSetup

ALL = list(SIMULATED)
CALL = "call-1"
STREAM = "stream-1"


def wire_for(provider: str, **setup: object) -> ProviderWire:
    spec = provider_spec(provider)
    fields: dict[str, object] = {
        "format": spec.default_format,
        "call_id": CALL,
        "stream_id": CALL if spec.stream_is_call else STREAM,
        "account_id": "AC1",
        "tracks": ("inbound",),
        "headers": {"lead": "42"},
        "headers_text": "lead=42",
        "timestamp_origin_ms": 1_000,
        **setup,
    }
    return spec.wire(WireSetup(**fields))  # type: ignore[arg-type]


def text(wire: ProviderWire, message: WireMessage) -> str | bytes:
    data = wire.encode(message)
    return data if isinstance(data, bytes) else orjson.dumps(data).decode()


def opened(provider: str) -> tuple[ProviderWire, object, list[object]]:
    """A wire and its provider's codec after the opening messages; the codec's events."""
    wire = wire_for(provider)
    codec = app_codec_for(provider)
    events = [e for m in wire.opening() for e in codec.receive(text(wire, m))]
    return wire, codec, events


def test_the_simulator_plays_exactly_the_registry_providers() -> None:
    assert set(PHONE_PROVIDERS) == set(PROVIDERS) - {"auto"}
    assert set(SIMULATED) == {*PHONE_PROVIDERS, "browser"}
    for spec in SIMULATED.values():
        assert next(iter(spec.formats.values())) == spec.default_format


@pytest.mark.parametrize("provider", ALL)
def test_opening_starts_the_codec_with_the_negotiated_format(provider: str) -> None:
    _, codec, events = opened(provider)
    starts = [e for e in events if isinstance(e, Start)]
    assert len(starts) == 1
    spec = provider_spec(provider)
    assert starts[0].media_format == spec.default_format
    # A browser tab has no call id to send: the codec makes one up.
    assert starts[0].call_id == CALL or (provider == "browser" and starts[0].call_id)
    assert codec.media_format == spec.default_format  # type: ignore[attr-defined]


@pytest.mark.parametrize("provider", PHONE_PROVIDERS)
def test_auto_detection_recognises_the_opening(provider: str) -> None:
    wire = wire_for(provider)
    first = next(m for m in wire.opening() if m.event != "connected")
    data = wire.encode(first)
    assert isinstance(data, dict)
    # SignalWire is Twilio on the wire: detection cannot (and need not) tell them apart.
    assert detect_provider(data) == ("twilio" if provider == "signalwire" else provider)


@pytest.mark.parametrize("provider", ALL)
def test_media_reaches_the_codec_byte_for_byte(provider: str) -> None:
    wire, codec, _ = opened(provider)
    fmt = provider_spec(provider).default_format
    packet = bytes(range(256))[: fmt.bytes_for(wire.frame_ms)].ljust(fmt.bytes_for(wire.frame_ms))
    events = codec.receive(text(wire, wire.media(3, 0.04, packet)))  # type: ignore[attr-defined]
    assert [e.payload for e in events if isinstance(e, Media)] == [packet]


@pytest.mark.parametrize("provider", [p for p in ALL if p != "kookoo"])
def test_dtmf_events_reach_the_codec(provider: str) -> None:
    wire, codec, _ = opened(provider)
    assert wire.has_dtmf_events
    events = codec.receive(text(wire, wire.dtmf("7", 1.0)))  # type: ignore[attr-defined]
    assert [e.digit for e in events if isinstance(e, Dtmf)] == ["7"]


def test_kookoo_has_no_dtmf_events_and_starts_with_a_stray_16k_packet() -> None:
    wire, _, events = opened("kookoo")
    assert not wire.has_dtmf_events
    assert [type(e) for e in events] == [Start]  # the 16 kHz packet is discarded
    stray = wire.encode(wire.opening()[1])
    assert isinstance(stray, dict)
    assert stray["data"]["sampleRate"] == 16000  # type: ignore[index]
    with pytest.raises(ValueError, match="tones"):
        wire.dtmf("5", 0.0)


@pytest.mark.parametrize("provider", ALL)
def test_app_commands_from_the_codec_are_accepted(provider: str) -> None:
    wire, codec, _ = opened(provider)
    fmt = provider_spec(provider).default_format
    audio = b"\x01" * fmt.bytes_for(codec.frame_ms)  # type: ignore[attr-defined]
    checked = wire.check(codec.send(PlayAudio(payload=audio)))  # type: ignore[attr-defined]
    assert checked.problems == ()
    assert isinstance(checked.command, PlayAudioCommand)
    assert checked.command.payload == audio
    assert (checked.command.ack is not None) is (provider == "kookoo")
    clear = wire.check(codec.send(ClearAudio()))  # type: ignore[attr-defined]
    assert (clear.command, clear.problems) == (ClearAudioCommand(), ())
    if provider != "kookoo":  # KooKoo's checkpoints never reach the wire
        mark = wire.check(codec.send(Checkpoint(name="m1")))  # type: ignore[attr-defined]
        assert (mark.command, mark.problems) == (CheckpointCommand("m1"), ())


@pytest.mark.parametrize("provider", ALL)
def test_acks_and_stop_reach_the_codec(provider: str) -> None:
    wire, codec, _ = opened(provider)
    if provider == "kookoo":
        sent = orjson.loads(codec.send(PlayAudio(payload=b"\x00\x00" * 80)))  # type: ignore[attr-defined]
        codec.send(Checkpoint(name="m1"))  # type: ignore[attr-defined]
        wire.check(orjson.dumps(sent).decode())
        ack = wire.played(sent["seqid"], 0.5)
    else:
        wire.check(codec.send(Checkpoint(name="m1")))  # type: ignore[attr-defined]
        ack = wire.played("m1", 0.5)
    events = codec.receive(text(wire, ack))  # type: ignore[attr-defined]
    assert [e.name for e in events if isinstance(e, PlayedStream)] == ["m1"]
    stop = wire.stop()
    if provider == "vonage" or provider == "plivo":
        # Vonage has no stop message; Plivo's is accepted, though undocumented.
        assert (stop is None) is (provider == "vonage")
    if stop is not None:
        events = codec.receive(text(wire, stop))  # type: ignore[attr-defined]
        assert any(isinstance(e, Stop) for e in events)


@pytest.mark.parametrize(
    ("provider", "reply"),
    [("plivo", ClearedAudio), ("vonage", ClearedAudio), ("twilio", None), ("exotel", None)],
)
def test_clear_replies(provider: str, reply: type | None) -> None:
    wire, codec, _ = opened(provider)
    wire.check(codec.send(Checkpoint(name="m1")))  # type: ignore[attr-defined]
    messages = wire.cleared(["m1"])
    events = [e for m in messages for e in codec.receive(text(wire, m))]  # type: ignore[attr-defined]
    assert [type(e) for e in events] == ([] if reply is None else [reply])


def test_twilio_numbers_as_text_and_does_not_number_connected() -> None:
    wire = wire_for("twilio")
    connected, start = (wire.encode(m) for m in wire.opening())
    assert connected == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert isinstance(start, dict)
    assert (start["sequenceNumber"], start["streamSid"]) == ("1", STREAM)
    media = wire.encode(wire.media(1, 0.02, b"\xff" * 160))
    assert isinstance(media, dict)
    assert media["sequenceNumber"] == "2"
    assert media["media"] == {
        "track": "inbound",
        "chunk": "1",
        "timestamp": "20",
        "payload": base64.b64encode(b"\xff" * 160).decode(),
    }


def kinds(wire: ProviderWire, message: str | bytes) -> list[ViolationKind]:
    return [p.kind for p in wire.check(message).problems]


def dumps(obj: object) -> str:
    return orjson.dumps(obj).decode()


B64 = base64.b64encode(b"\xff" * 160).decode()


@pytest.mark.parametrize(
    ("provider", "message", "expected", "usable"),
    [
        # Twilio: streamSid on every message, and only media / mark / clear.
        ("twilio", dumps({"event": "clear"}), [ViolationKind.MISSING_FIELD], False),
        (
            "twilio",
            dumps({"event": "mark", "streamSid": "MZother", "mark": {"name": "a"}}),
            [ViolationKind.WRONG_STREAM_ID],
            False,
        ),
        (
            "twilio",
            dumps({"event": "playAudio", "streamSid": STREAM}),
            [ViolationKind.UNKNOWN_EVENT],
            False,
        ),
        ("twilio", b"\x00\x01", [ViolationKind.BINARY_FRAME], False),
        (
            "twilio",
            dumps({"event": "media", "streamSid": STREAM, "media": {"payload": "%%"}}),
            [ViolationKind.BAD_BASE64],
            False,
        ),
        (
            "twilio",
            dumps({"event": "mark", "streamSid": STREAM, "mark": {"name": ""}}),
            [ViolationKind.WRONG_TYPE],
            False,
        ),
        (
            "signalwire",
            dumps({"event": "media", "streamSid": STREAM, "media": {"payload": B64}, "x": 1}),
            [ViolationKind.UNKNOWN_FIELD],
            True,
        ),
        # Exotel: either casing of the stream id; audio in 320-byte units (plays anyway).
        (
            "exotel",
            dumps({"event": "clear", "streamSid": STREAM}),
            [],
            True,
        ),
        (
            "exotel",
            dumps(
                {
                    "event": "media",
                    "stream_sid": STREAM,
                    "media": {"payload": base64.b64encode(b"\x00" * 1000).decode()},
                }
            ),
            [ViolationKind.WRONG_CHUNK_SIZE],
            True,
        ),
        # Telnyx: no stream id from the app.
        (
            "telnyx",
            dumps({"event": "clear", "stream_id": STREAM}),
            [ViolationKind.UNKNOWN_FIELD],
            True,
        ),
        # Vonage: actions, and 20 ms binary frames.
        ("vonage", dumps({"event": "clear"}), [ViolationKind.MISSING_FIELD], False),
        ("vonage", dumps({"action": "notify"}), [ViolationKind.MISSING_FIELD], False),
        ("vonage", dumps({"action": "hangup"}), [ViolationKind.UNKNOWN_EVENT], False),
        ("vonage", b"\x00" * 100, [ViolationKind.WRONG_CHUNK_SIZE], True),
        ("vonage", b"\x00" * 3, [ViolationKind.PARTIAL_SAMPLE], False),
        # KooKoo: seqid, ucid and 8 kHz packets of 80 samples.
        (
            "kookoo",
            dumps({"event": "media", "ucid": CALL, "data": {}}),
            [ViolationKind.MISSING_FIELD, ViolationKind.WRONG_SAMPLE_RATE],
            False,
        ),
        ("kookoo", dumps({"command": "hangUp"}), [ViolationKind.UNKNOWN_EVENT], False),
        ("kookoo", dumps({"event": "clearAudio"}), [ViolationKind.UNKNOWN_EVENT], False),
    ],
)
def test_strict_checks(
    provider: str, message: str | bytes, expected: list[ViolationKind], usable: bool
) -> None:
    wire = wire_for(provider)
    found = kinds(wire, message)
    for kind in expected:
        assert kind in found
    if not expected:
        assert found == []
    assert (wire.check(message).command is not None) is usable


def test_kookoo_packet_checks() -> None:
    wire = wire_for("kookoo")
    packet = {
        "event": "media",
        "type": "media",
        "ucid": CALL,
        "seqid": "s1",
        "data": {
            "samples": [1] * 40,
            "bitsPerSample": 16,
            "sampleRate": 8000,
            "channelCount": 1,
            "numberOfFrames": 40,
            "type": "data",
        },
    }
    checked = wire.check(dumps(packet))
    assert [p.kind for p in checked.problems] == [ViolationKind.WRONG_CHUNK_SIZE]
    assert checked.command == PlayAudioCommand(b"\x01\x00" * 40, ack="s1")
    packet["ucid"] = "someone-else"
    assert kinds(wire, dumps(packet))[0] is ViolationKind.WRONG_STREAM_ID
    assert wire.check(dumps({"command": "callDisconnect"})).command == HangupCommand()


def test_vonage_echoes_the_notify_payload_verbatim() -> None:
    wire = wire_for("vonage")
    checked = wire.check(dumps({"action": "notify", "payload": {"turn": 3}}))
    assert isinstance(checked.command, CheckpointCommand)
    ack = wire.encode(wire.played(checked.command.name, 1.0))
    assert ack == {"event": "websocket:notify", "payload": {"turn": 3}}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"provider": "twilio", "format": FakeProvider(provider="vonage").format}, "Twilio"),
        ({"provider": "exotel", "format": MULAW_8K}, "Exotel streams L16 8 kHz"),
        ({"provider": "vonage", "end": "stop"}, "Vonage has no stop message"),
        ({"provider": "auto"}, "cannot be provider 'auto'"),
        ({"provider": "skype"}, "cannot be provider 'skype'"),
    ],
)
def test_configuration_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        FakeProvider(**options)  # type: ignore[arg-type]


def test_provider_defaults_and_aliases() -> None:
    assert FakeProvider().provider == "plivo"
    assert FakeProvider().end == "close"
    assert FakeProvider(provider="Ozonetel").provider == "kookoo"
    assert FakeProvider(provider="nexmo").format.sample_rate == 16000
    assert FakeProvider(provider="twilio").end == "stop"
    assert FakeProvider(provider="telnyx", format=provider_spec("telnyx").formats["l16-16k"])
    with pytest.raises(ConfigurationError, match="big-endian"):
        FakeProvider(provider="telnyx", format=provider_spec("vonage").formats["l16-16k"])


def test_fake_plivo_is_fake_provider() -> None:
    from trio_plivo.testing import FakePlivo

    assert FakePlivo is FakeProvider
