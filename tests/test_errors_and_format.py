from __future__ import annotations

import pytest

from trio_plivo import (
    L16_8K,
    L16_16K,
    MULAW_8K,
    AudioFormat,
    CallClosed,
    ConfigurationError,
    ConnectionClosed,
    Encoding,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    TrioPlivoError,
)


def test_protocol_error_is_abstract() -> None:
    with pytest.raises(TypeError):
        ProtocolError("whose fault?")
    assert isinstance(LocalProtocolError("x"), ProtocolError)
    assert isinstance(RemoteProtocolError("x", event_hint="media"), TrioPlivoError)


def test_call_closed_carries_code() -> None:
    exc = ConnectionClosed("peer went away", code=1006)
    assert isinstance(exc, CallClosed)
    assert exc.code == 1006
    assert "1006" in str(exc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("audio/x-mulaw;rate=8000", MULAW_8K),
        ("audio/x-l16;rate=8000", L16_8K),
        ("audio/x-l16; rate=16000", L16_16K),
        ("audio/x-l16", L16_8K),
    ],
)
def test_content_type_round_trip(text: str, expected: AudioFormat) -> None:
    fmt = AudioFormat.from_content_type(text)
    assert fmt == expected
    assert AudioFormat.from_content_type(fmt.to_content_type()) == fmt


def test_bad_content_type() -> None:
    with pytest.raises(ConfigurationError):
        AudioFormat.from_content_type("audio/ogg;rate=8000")
    with pytest.raises(ConfigurationError):
        AudioFormat.from_content_type("audio/x-l16;rate=fast")


def test_frame_sizes() -> None:
    assert MULAW_8K.bytes_for(20) == 160
    assert L16_8K.bytes_for(20) == 320
    assert L16_16K.bytes_for(20) == 640
    assert L16_16K.duration_ms(640) == 20
    assert MULAW_8K.content_type == "audio/x-mulaw"
    assert Encoding.L16.bytes_per_sample == 2
