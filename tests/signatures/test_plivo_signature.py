"""Plivo Signature V3: official vectors, worked examples, tampering, header sources, secrecy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from trio_plivo import ConfigurationError
from trio_plivo.signatures import (
    MAIN_SIGNATURE_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SignatureValidator,
    compute_signature_v3,
    signature_headers,
    signed_url,
    validate_request_signature,
    validate_signature_v3,
    validate_websocket_upgrade,
    websocket_url_candidates,
)

# --- plivo-go utils_test.go TestValidateSignatureV3Pass1..4 (vector data only) ---------------

GO_TOKEN = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4"
GO_NONCE = "31627761595286130198"
GO_URL_QUERY = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml/?a=b&c=d"
GO_URL_PLAIN = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml"
GO_PARAMS = {
    "Direction": "outbound",
    "From": "19792014278",
    "ALegUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "CallStatus": "in-progress",
    "BillRate": "0.002",
    "ParentAuthID": "MANWVLYTK4ZWU1YTY4QA",
    "To": "sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com",
    "ALegRequestUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "CallUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "RequestUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "SIP-H-To": "<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1",
    "SessionStart": "2020-04-08 11:34:33.238707",
    "Event": "StartApp",
}
GO_VECTORS = [
    (GO_URL_QUERY, "POST", "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c="),
    (GO_URL_QUERY, "GET", "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ="),
    (GO_URL_PLAIN, "POST", "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="),
    (GO_URL_PLAIN, "GET", "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc="),
]


@pytest.mark.parametrize(("url", "method", "expected"), GO_VECTORS)
def test_official_plivo_go_vectors(url: str, method: str, expected: str) -> None:
    assert (
        compute_signature_v3(url, GO_NONCE, GO_TOKEN, method=method, params=GO_PARAMS) == expected
    )
    assert validate_signature_v3(url, GO_NONCE, expected, GO_TOKEN, method=method, params=GO_PARAMS)


# --- protocols.md §1.8 worked examples --------------------------------------------------------

TOKEN = "my_auth_token"
NONCE = "12345"
FIELDS = {"CallUUID": "abc", "From": "14155550100", "To": "14155550199", "Event": "StartApp"}

WORKED = [
    (
        "https://example.com/answer/",
        "POST",
        FIELDS,
        "https://example.com/answer/?CallUUIDabcEventStartAppFrom14155550100To14155550199",
        "PmNjuq53OEsp3ignxeJXtSCL677jpKHS5C4uLmCrlXU=",
    ),
    (
        "https://example.com/answer/?lang=en&id=7",
        "POST",
        FIELDS,
        "https://example.com/answer/?id=7&lang=en."
        "CallUUIDabcEventStartAppFrom14155550100To14155550199",
        "kpLj7Frxj6yCyjqZf2jjZMH2kVWT3+O0tKTYW9cniAU=",
    ),
    (
        "https://example.com/answer/?To=14155550199&From=14155550100",
        "GET",
        None,
        "https://example.com/answer/?From=14155550100&To=14155550199",
        "lXaGhGkun18v5vAxuM/L5P+1XBQKYFwZkbYf3CuA3FU=",
    ),
    (
        "https://example.com/stream?x=1",
        "GET",
        None,
        "https://example.com/stream?x=1",
        "HnYtXvq/mChYWW32v3+wx3SdvGjPra9RzMAQCe+fGOw=",
    ),
]


@pytest.mark.parametrize(("url", "method", "params", "signed", "expected"), WORKED)
def test_worked_examples(
    url: str, method: str, params: dict[str, str] | None, signed: str, expected: str
) -> None:
    assert signed_url(url, method=method, params=params) == signed
    assert compute_signature_v3(url, NONCE, TOKEN, method=method, params=params) == expected
    assert validate_signature_v3(url, NONCE, expected, TOKEN, method=method, params=params)


def test_method_is_case_insensitive() -> None:
    url, _, _, _, expected = WORKED[2]
    assert validate_signature_v3(url, NONCE, expected, TOKEN, method="get")
    # plivo-python quietly takes the POST path for "get"; with no params that differs here.
    assert compute_signature_v3(url, NONCE, TOKEN, method="Get") == expected


def test_get_params_already_in_query_are_not_counted_twice() -> None:
    url = "https://example.com/answer/?To=14155550199&From=14155550100"
    query_copy = {"To": "14155550199", "From": "14155550100"}
    assert signed_url(url, method="GET", params=query_copy) == signed_url(url, method="GET")


# --- construction details ----------------------------------------------------------------------


def test_plus_decodes_to_space_and_percent_escapes_decode() -> None:
    assert signed_url("https://e.x/a?q=hello+world&r=%41", method="GET") == (
        "https://e.x/a?q=hello world&r=A"
    )


def test_multi_valued_keys_sorted_per_value() -> None:
    assert signed_url("https://e.x/a?k=2&k=1&a=z", method="GET") == "https://e.x/a?a=z&k=1&k=2"
    assert signed_url("https://e.x/a", params={"k": ["b", "a"], "j": "x"}) == (
        "https://e.x/a?jxkakb"
    )
    # multidict-style pairs are the same thing
    assert signed_url("https://e.x/a", params=[("k", "b"), ("j", "x"), ("k", "a")]) == (
        "https://e.x/a?jxkakb"
    )


def test_keys_sort_by_code_point_uppercase_first() -> None:
    assert signed_url("https://e.x/a", params={"b": "1", "B": "2", "a": "3"}) == (
        "https://e.x/a?B2a3b1"
    )


def test_post_without_params_keeps_sorted_query() -> None:
    assert signed_url("https://e.x/a/?b=2&a=1") == "https://e.x/a/?a=1&b=2"
    assert signed_url("https://e.x:8443/a/") == "https://e.x:8443/a/"


def test_fragment_dropped_port_and_trailing_slash_kept() -> None:
    assert signed_url("https://e.x:8443/p/#frag", method="GET") == "https://e.x:8443/p/"


# --- tampering -----------------------------------------------------------------------------


GOOD_URL = WORKED[1][0]
GOOD_SIG = WORKED[1][4]


def test_tampered_signature_fails() -> None:
    bad = GOOD_SIG[:-2] + ("A=" if GOOD_SIG[-2] != "A" else "B=")
    assert not validate_signature_v3(GOOD_URL, NONCE, bad, TOKEN, method="POST", params=FIELDS)


def test_tampered_url_fails() -> None:
    for url in (
        GOOD_URL.replace("id=7", "id=8"),
        GOOD_URL.replace("https", "http"),
        GOOD_URL.replace("/answer/", "/answer"),
        GOOD_URL.replace("example.com", "example.org"),
    ):
        assert not validate_signature_v3(url, NONCE, GOOD_SIG, TOKEN, method="POST", params=FIELDS)


def test_tampered_nonce_fails() -> None:
    assert not validate_signature_v3(
        GOOD_URL, "12346", GOOD_SIG, TOKEN, method="POST", params=FIELDS
    )


def test_tampered_or_missing_param_fails() -> None:
    changed = {**FIELDS, "To": "14155550198"}
    assert not validate_signature_v3(
        GOOD_URL, NONCE, GOOD_SIG, TOKEN, method="POST", params=changed
    )
    fewer = {k: v for k, v in FIELDS.items() if k != "Event"}
    assert not validate_signature_v3(GOOD_URL, NONCE, GOOD_SIG, TOKEN, method="POST", params=fewer)


def test_wrong_token_and_wrong_method_fail() -> None:
    assert not validate_signature_v3(
        GOOD_URL, NONCE, GOOD_SIG, "other_token", method="POST", params=FIELDS
    )
    assert not validate_signature_v3(GOOD_URL, NONCE, GOOD_SIG, TOKEN, method="GET", params=FIELDS)


def test_remote_garbage_returns_false_instead_of_raising() -> None:
    assert not validate_signature_v3(GOOD_URL, NONCE, "", TOKEN, method="POST", params=FIELDS)
    assert not validate_signature_v3(GOOD_URL, "", GOOD_SIG, TOKEN, method="POST", params=FIELDS)
    assert not validate_signature_v3(GOOD_URL, NONCE, GOOD_SIG, TOKEN, method="PUT", params=FIELDS)
    assert not validate_signature_v3(GOOD_URL, NONCE, "ü,€", TOKEN, method="POST", params=FIELDS)


def test_several_signatures_in_one_header() -> None:
    header = f"bm90IGl0, {GOOD_SIG} ,YWxzbyBub3Q="
    assert validate_signature_v3(GOOD_URL, NONCE, header, TOKEN, method="POST", params=FIELDS)
    assert not validate_signature_v3(
        GOOD_URL, NONCE, "bm90IGl0,YWxzbyBub3Q=", TOKEN, method="POST", params=FIELDS
    )


def test_misuse_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        compute_signature_v3(GOOD_URL, NONCE, "", method="POST")
    with pytest.raises(ConfigurationError):
        compute_signature_v3(GOOD_URL, NONCE, TOKEN, method="PUT")
    with pytest.raises(ConfigurationError):
        validate_signature_v3(GOOD_URL, NONCE, GOOD_SIG, "", method="POST")


# --- header helpers ---------------------------------------------------------------------------


def test_request_headers_case_insensitive() -> None:
    headers = {"x-plivo-signature-v3": GOOD_SIG, "X-PLIVO-SIGNATURE-V3-NONCE": NONCE}
    assert validate_request_signature(
        headers, url=GOOD_URL, method="POST", params=FIELDS, auth_token=TOKEN
    )
    assert not validate_request_signature(
        {"x-plivo-signature-v3": GOOD_SIG},
        url=GOOD_URL,
        method="POST",
        params=FIELDS,
        auth_token=TOKEN,
    )


def test_main_account_header() -> None:
    main = "main_account_token"
    ma_sig = compute_signature_v3(GOOD_URL, NONCE, main, params=FIELDS)
    headers = {SIGNATURE_HEADER: "bm9wZQ==", MAIN_SIGNATURE_HEADER: ma_sig, NONCE_HEADER: NONCE}

    def check(headers: dict[str, str], main_auth_token: str | None) -> bool:
        return validate_request_signature(
            headers,
            url=GOOD_URL,
            method="POST",
            params=FIELDS,
            auth_token=TOKEN,
            main_auth_token=main_auth_token,
        )

    assert check(headers, main)
    # without the main token configured the Ma header is not trusted
    assert not check(headers, None)
    # the Ma header is keyed with the main token, not the subaccount one
    assert not check({**headers, MAIN_SIGNATURE_HEADER: GOOD_SIG}, main)


def test_signature_headers_round_trip() -> None:
    headers = signature_headers(GOOD_URL, TOKEN, params=FIELDS)
    assert set(headers) == {SIGNATURE_HEADER, NONCE_HEADER}
    assert validate_request_signature(
        headers, url=GOOD_URL, method="POST", params=FIELDS, auth_token=TOKEN
    )
    assert signature_headers(GOOD_URL, TOKEN)[NONCE_HEADER] != headers[NONCE_HEADER]


# --- SignatureValidator and secrecy -----------------------------------------------------------

PUBLIC = "wss://bot.example.com/plivo/stream"


def test_validator_request_and_config_errors() -> None:
    validator = SignatureValidator(TOKEN)
    headers = {SIGNATURE_HEADER: GOOD_SIG, NONCE_HEADER: NONCE}
    assert validator.validate_request(headers, url=GOOD_URL, method="POST", params=FIELDS)
    with pytest.raises(ConfigurationError, match="public_url"):
        validator.validate_websocket(headers)
    with pytest.raises(ConfigurationError):
        SignatureValidator("")
    with pytest.raises(ConfigurationError):
        SignatureValidator(TOKEN, main_auth_token="")
    with pytest.raises(ConfigurationError):
        SignatureValidator(TOKEN, public_url="not a url")


SECRET = "S3cretTok3nValue"
MAIN_SECRET = "MainS3cretTok3n"


def _formatted_everything() -> list[str]:
    texts: list[str] = []
    validator = SignatureValidator(SECRET, main_auth_token=MAIN_SECRET, public_url=PUBLIC)
    texts += [repr(validator), str(validator), f"{validator!r:>10}"]
    for attempt in (
        lambda: SignatureValidator(SECRET, public_url="nope"),
        lambda: compute_signature_v3(PUBLIC, NONCE, SECRET, method="DELETE"),
        lambda: SignatureValidator(SECRET).validate_websocket({}),
        lambda: websocket_url_candidates("gopher://x"),
    ):
        with pytest.raises(ConfigurationError) as info:
            attempt()
        texts += [str(info.value), repr(info.value), repr(info.value.args)]
    return texts


def test_tokens_never_formatted() -> None:
    texts = _formatted_everything()
    assert texts
    for text in texts:
        assert SECRET not in text
        assert MAIN_SECRET not in text


# --- header sources ---------------------------------------------------------------------------


class OnlyGet:
    """A case-insensitive header object that is not a Mapping (like trio_plivo.ws.Headers)."""

    def __init__(self, items: dict[str, str]) -> None:
        self._items = {k.lower(): v for k, v in items.items()}

    def get(self, name: str, /) -> str | None:
        return self._items.get(name.lower())


def test_header_sources_of_every_shape() -> None:
    # Signed for a late candidate, so the headers must survive being consulted many times.
    signed = signature_headers("http://bot.example.com/plivo/stream/websocket", TOKEN, method="GET")
    lower = {k.lower(): v for k, v in signed.items()}
    sources: list[Any] = [
        signed,
        lower,
        httpx.Headers(lower),
        OnlyGet(lower),
        list(lower.items()),
        [(k.encode(), v.encode()) for k, v in lower.items()],
        ((k.upper(), v) for k, v in signed.items()),  # one-shot iterator
    ]
    for source in sources:
        assert validate_websocket_upgrade(source, public_url=PUBLIC, auth_token=TOKEN), source
    forged = [(k, "Zm9yZ2Vk" if k == "x-plivo-signature-v3" else v) for k, v in lower.items()]
    assert not validate_websocket_upgrade(forged, public_url=PUBLIC, auth_token=TOKEN)
