"""Plivo Signature V3 on a WebSocket upgrade: the candidate URLs and what validates."""

from __future__ import annotations

import pytest

from trio_plivo import ConfigurationError
from trio_plivo.signatures import (
    MAIN_SIGNATURE_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SignatureValidator,
    compute_signature_v3,
    signature_headers,
    validate_websocket_upgrade,
    websocket_url_candidates,
)

TOKEN = "my_auth_token"

# --- WebSocket upgrade ------------------------------------------------------------------------

PUBLIC = "wss://bot.example.com/plivo/stream"


def test_candidates_cover_schemes_and_websocket_suffix() -> None:
    candidates = websocket_url_candidates(PUBLIC)
    assert candidates[0] == PUBLIC
    for scheme in ("wss", "ws", "https", "http"):
        assert f"{scheme}://bot.example.com/plivo/stream" in candidates
        assert f"{scheme}://bot.example.com/plivo/stream/websocket" in candidates
    assert len(candidates) == len(set(candidates)) == 8


def test_candidates_keep_the_public_query_without_a_request() -> None:
    candidates = websocket_url_candidates(PUBLIC + "?tenant=7")
    assert candidates[0] == PUBLIC + "?tenant=7"
    assert "http://bot.example.com/plivo/stream/websocket?tenant=7" in candidates
    assert "http://bot.example.com/plivo/stream?tenant=7/websocket" in candidates


def test_candidates_use_the_requests_query_and_never_drop_it() -> None:
    """Plivo signs the URL with its query: the request's query is what was signed, on the
    public path (a proxy may have rewritten the path) or the request's own path."""
    candidates = websocket_url_candidates(PUBLIC + "?tenant=7", request_target="/s?call=9")
    assert candidates[0] == PUBLIC + "?call=9"
    assert "wss://bot.example.com/s?call=9" in candidates
    assert all("call=9" in c and "tenant=7" not in c for c in candidates)
    assert all("bot.example.com" in c for c in candidates)


def test_a_signature_over_the_bare_path_does_not_admit_an_added_query() -> None:
    """Issue #15, defect 4: signed over ws://HOST/stream, presented at /stream?x=1."""
    public = "ws://bot.example.com/stream"
    headers = signature_headers(public, TOKEN, method="GET")
    assert validate_websocket_upgrade(
        headers, public_url=public, auth_token=TOKEN, request_target="/stream"
    )
    assert not validate_websocket_upgrade(
        headers, public_url=public, auth_token=TOKEN, request_target="/stream?x=1"
    )


def test_candidates_for_trailing_slash_public_url() -> None:
    candidates = websocket_url_candidates("wss://bot.example.com/stream/")
    assert "wss://bot.example.com/stream/" in candidates
    assert "http://bot.example.com/stream//websocket" in candidates
    assert "http://bot.example.com/stream/websocket" in candidates


@pytest.mark.parametrize("bad", ["bot.example.com/stream", "ftp://bot.example.com/s", "wss://"])
def test_candidates_reject_bad_public_url(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        websocket_url_candidates(bad)


@pytest.mark.parametrize(
    "signed_as",
    [
        PUBLIC,
        "wss://bot.example.com/plivo/stream/websocket",  # official Python SDK
        "http://bot.example.com/plivo/stream",  # TLS terminated before the signer saw it
        "https://bot.example.com/plivo/stream/websocket",
    ],
)
def test_upgrade_signed_with_any_candidate_validates(signed_as: str) -> None:
    headers = signature_headers(signed_as, TOKEN, method="GET")
    assert validate_websocket_upgrade(headers, public_url=PUBLIC, auth_token=TOKEN)
    validator = SignatureValidator(TOKEN, public_url=PUBLIC)
    assert validator.validate_websocket(headers)


@pytest.mark.parametrize(
    "signed_as",
    [
        "wss://evil.example.com/plivo/stream",
        "wss://bot.example.com/plivo/other",
        "wss://bot.example.com/plivo/stream?x=1",
    ],
)
def test_upgrade_signed_for_another_url_fails(signed_as: str) -> None:
    headers = signature_headers(signed_as, TOKEN, method="GET")
    assert not validate_websocket_upgrade(headers, public_url=PUBLIC, auth_token=TOKEN)


def test_upgrade_forged_or_wrong_token_fails() -> None:
    forged = {SIGNATURE_HEADER: "Zm9yZ2VkIHNpZ25hdHVyZQ==", NONCE_HEADER: "1"}
    assert not validate_websocket_upgrade(forged, public_url=PUBLIC, auth_token=TOKEN)
    other = signature_headers(PUBLIC, "someone_elses_token", method="GET")
    assert not validate_websocket_upgrade(other, public_url=PUBLIC, auth_token=TOKEN)
    assert not validate_websocket_upgrade({}, public_url=PUBLIC, auth_token=TOKEN)
    # signed as POST is not a valid upgrade signature
    post = signature_headers(PUBLIC, TOKEN, method="POST", params={"a": "b"})
    assert not validate_websocket_upgrade(post, public_url=PUBLIC, auth_token=TOKEN)


def test_upgrade_with_per_call_query_via_request_target() -> None:
    headers = signature_headers("wss://bot.example.com/plivo/stream?call=42", TOKEN, method="GET")
    assert not validate_websocket_upgrade(headers, public_url=PUBLIC, auth_token=TOKEN)
    validator = SignatureValidator(TOKEN, public_url=PUBLIC)
    assert validator.validate_websocket(headers, request_target="/plivo/stream?call=42")


def test_upgrade_main_account_header() -> None:
    main = "main_account_token"
    sig = compute_signature_v3(PUBLIC, "9", main, method="GET")
    headers = {MAIN_SIGNATURE_HEADER: sig, NONCE_HEADER: "9"}
    assert validate_websocket_upgrade(
        headers, public_url=PUBLIC, auth_token=TOKEN, main_auth_token=main
    )
    assert not validate_websocket_upgrade(headers, public_url=PUBLIC, auth_token=TOKEN)
