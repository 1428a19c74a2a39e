"""Twilio request signatures: Twilio's published vectors, variants, and secrecy of the token."""

from __future__ import annotations

import logging

import pytest

from trio_plivo import ConfigurationError
from trio_plivo.signatures import (
    TwilioSignatureValidator,
    compute_twilio_signature,
    twilio_signed_payload,
    twilio_url_candidates,
    validate_twilio_signature,
)

# Twilio's documented example (auth token "12345").
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilios_documented_vector() -> None:
    assert compute_twilio_signature(URL, PARAMS, TOKEN) == SIGNATURE
    assert validate_twilio_signature(SIGNATURE, URL, PARAMS, TOKEN)


def test_repeated_parameters_vector() -> None:
    pairs = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert compute_twilio_signature(URL, pairs, TOKEN) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert (
        compute_twilio_signature(
            URL, {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234"]}, TOKEN
        )
        == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    )


def test_payload_order_is_by_name_without_separators() -> None:
    assert twilio_signed_payload("https://h/p", {"b": "2", "a": "1"}) == "https://h/pa1b2"


@pytest.mark.parametrize(
    ("url", "params", "token", "signature"),
    [
        (URL + "&extra=1", PARAMS, TOKEN, SIGNATURE),
        (URL, {**PARAMS, "Digits": "9999"}, TOKEN, SIGNATURE),
        (URL, PARAMS, "other", SIGNATURE),
        (URL, PARAMS, TOKEN, "invalid 王"),
        (URL, PARAMS, TOKEN, ""),
        (URL, PARAMS, TOKEN, None),
    ],
)
def test_anything_changed_fails(
    url: str, params: dict[str, str], token: str, signature: str | None
) -> None:
    assert not validate_twilio_signature(signature, url, params, token)


def test_default_port_added_or_removed() -> None:
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert validate_twilio_signature(
        compute_twilio_signature(with_port, PARAMS, TOKEN), URL, PARAMS, TOKEN
    )
    assert validate_twilio_signature(SIGNATURE, with_port, PARAMS, TOKEN)
    other_port = "https://mycompany.com:8443/myapp.php?foo=1&bar=2"
    assert not validate_twilio_signature(SIGNATURE, other_port, PARAMS, TOKEN)


def test_websocket_candidates() -> None:
    assert twilio_url_candidates("wss://bot.example.com/stream") == [
        "wss://bot.example.com/stream",
        "https://bot.example.com/stream",
    ]
    assert twilio_url_candidates("wss://bot.example.com/stream", request_target="/stream?call=7")[
        0
    ] == ("wss://bot.example.com/stream?call=7")
    with pytest.raises(ConfigurationError):
        twilio_url_candidates("bot.example.com/stream")


@pytest.mark.parametrize(
    "signed", ["wss://bot.example.com/stream?call=7", "https://bot.example.com/stream?call=7"]
)
def test_validator_accepts_a_signed_upgrade_and_refuses_others(signed: str) -> None:
    validator = TwilioSignatureValidator("s3cr3t-token", public_url="wss://bot.example.com/stream")
    headers = {"x-twilio-signature": compute_twilio_signature(signed, None, "s3cr3t-token")}
    assert validator.validate_websocket(headers, request_target="/stream?call=7")
    assert validator.validate_websocket(list(headers.items()), request_target="/stream?call=7")
    assert validator.validate_websocket(
        [(b"X-Twilio-Signature", headers["x-twilio-signature"].encode())],
        request_target="/stream?call=7",
    )
    assert not validator.validate_websocket(headers, request_target="/stream?call=8")
    assert not validator.validate_websocket({}, request_target="/stream?call=7")


def test_validator_for_webhooks() -> None:
    validator = TwilioSignatureValidator(TOKEN)
    assert validator.validate_request({"X-Twilio-Signature": SIGNATURE}, url=URL, params=PARAMS)
    assert not validator.validate_request(
        {"X-Twilio-Signature": SIGNATURE}, url=URL, method="GET", params=PARAMS
    )
    with pytest.raises(ConfigurationError, match="public_url"):
        validator.validate_websocket({})


def test_token_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    validator = TwilioSignatureValidator("s3cr3t-token", public_url="wss://h/s")
    assert "s3cr3t-token" not in repr(validator)
    assert "s3cr3t-token" not in str(validator)
    validator.validate_websocket({"X-Twilio-Signature": "bad"})
    with pytest.raises(ConfigurationError) as info:
        TwilioSignatureValidator("s3cr3t-token", public_url="not a url")
    assert "s3cr3t-token" not in str(info.value)
    assert "s3cr3t-token" not in caplog.text


@pytest.mark.parametrize("token", ["", None, 5])
def test_bad_token(token: object) -> None:
    with pytest.raises(ConfigurationError):
        TwilioSignatureValidator(token)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        compute_twilio_signature(URL, PARAMS, token)  # type: ignore[arg-type]
