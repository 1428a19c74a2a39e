"""Plivo request signatures (``X-Plivo-Signature-V3``): compute and validate.

Plivo signs every HTTP request it makes to the application (answer URL, status callbacks) and
the WebSocket upgrade of a media stream. Validating that signature is what stops a stranger
from opening a media socket to your bot and talking to your LLM on your bill (an unauthenticated
media socket is a toll-fraud hole).

Theory of operation (protocols.md §1.8)::

    signed_url = rebuild(url, method, params)     # sorted query, POST params appended
    message    = signed_url + "." + nonce
    signature  = base64(HMAC-SHA256(auth_token, message))

The header may carry several signatures separated by commas; one match is enough. Everything
here is pure (no I/O) and compares in constant time. Auth tokens never appear in a ``repr``,
a log message or an exception message.

What is signed (the rebuilt URL, the candidates for a WebSocket upgrade) is in
``_plivo_urls``; this module computes and checks the signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from .._exceptions import ConfigurationError
from ._headers import HeaderSource, SupportsHeaderGet, header_value
from ._plivo_urls import SIGNED_METHODS, Params, signed_url, websocket_url_candidates

__all__ = [
    "MAIN_SIGNATURE_HEADER",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "SignatureValidator",
    "compute_signature_v3",
    "signature_headers",
    "validate_request_signature",
    "validate_signature_v3",
    "validate_websocket_upgrade",
]

#: Signature keyed with the (sub)account auth token.
SIGNATURE_HEADER: Final = "X-Plivo-Signature-V3"
#: Signature keyed with the main account's auth token (sent alongside the V3 header).
MAIN_SIGNATURE_HEADER: Final = "X-Plivo-Signature-Ma-V3"
#: The nonce both signatures cover.
NONCE_HEADER: Final = "X-Plivo-Signature-V3-Nonce"


def _check_token(auth_token: str) -> None:
    # An empty key would make every signature trivially forgeable; refuse instead of "validating".
    if not isinstance(auth_token, str) or not auth_token:
        raise ConfigurationError("the auth token must be a non-empty string")


def compute_signature_v3(
    url: str,
    nonce: str,
    auth_token: str,
    *,
    method: str = "POST",
    params: Params | None = None,
) -> str:
    """Compute the ``X-Plivo-Signature-V3`` value for a request.

    ``url`` is the full URL Plivo called (including any query string), ``params`` the form
    fields of a POST (for a GET they are already in the query string; passing them as well is
    harmless). ``method`` is ``"GET"`` or ``"POST"`` in any case; anything else raises
    :class:`~trio_plivo.ConfigurationError`, as does an empty ``auth_token``.
    """
    _check_token(auth_token)
    message = f"{signed_url(url, method=method, params=params)}.{nonce}".encode()
    digest = hmac.new(auth_token.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def validate_signature_v3(
    url: str,
    nonce: str,
    signature_header: str,
    auth_token: str,
    *,
    method: str,
    params: Params | None = None,
) -> bool:
    """Whether ``signature_header`` (possibly several comma-separated signatures) signs this
    request with ``auth_token``.

    Returns ``False`` (never raises) for anything a remote party controls: an empty or garbled
    header, a missing nonce, a method other than GET/POST. Raises
    :class:`~trio_plivo.ConfigurationError` only for an empty ``auth_token``.
    """
    _check_token(auth_token)
    if not nonce or not signature_header or method.upper() not in SIGNED_METHODS:
        return False
    expected = compute_signature_v3(url, nonce, auth_token, method=method, params=params).encode()
    matched = False
    for candidate in signature_header.split(","):
        # Check every entry (no early exit) so timing does not reveal which one matched.
        matched |= hmac.compare_digest(expected, candidate.strip().encode())
    return matched


def validate_request_signature(
    headers: HeaderSource,
    *,
    url: str,
    method: str,
    auth_token: str,
    main_auth_token: str | None = None,
    params: Params | None = None,
) -> bool:
    """Validate a Plivo request from its headers (looked up case-insensitively).

    Accepts the request when ``X-Plivo-Signature-V3`` matches ``auth_token``, or, when
    ``main_auth_token`` is given, when ``X-Plivo-Signature-Ma-V3`` matches it (subaccount apps
    that only hold the main account's token).
    """
    return _validate_any(
        _SignedHeaders.read(headers),
        [url],
        method=method,
        params=params,
        auth_token=auth_token,
        main_auth_token=main_auth_token,
    )


@attrs.frozen
class _SignedHeaders:
    # Read once: ``headers`` may be a one-shot iterator of pairs.
    nonce: str | None
    signature: str | None
    main_signature: str | None

    @classmethod
    def read(cls, headers: HeaderSource) -> _SignedHeaders:
        if not isinstance(headers, Mapping | SupportsHeaderGet):
            headers = list(headers)
        return cls(
            header_value(headers, NONCE_HEADER),
            header_value(headers, SIGNATURE_HEADER),
            header_value(headers, MAIN_SIGNATURE_HEADER),
        )


def _validate_any(
    signed: _SignedHeaders,
    urls: Iterable[str],
    *,
    method: str,
    params: Params | None,
    auth_token: str,
    main_auth_token: str | None,
) -> bool:
    _check_token(auth_token)
    if not signed.nonce:
        return False
    checks = [(signed.signature, auth_token)]
    if main_auth_token is not None:
        checks.append((signed.main_signature, main_auth_token))
    for url in urls:
        for header, token in checks:
            if header and validate_signature_v3(
                url, signed.nonce, header, token, method=method, params=params
            ):
                return True
    return False


def validate_websocket_upgrade(
    headers: HeaderSource,
    *,
    public_url: str,
    auth_token: str,
    main_auth_token: str | None = None,
    request_target: str | None = None,
) -> bool:
    """Whether a WebSocket upgrade request carries a valid Plivo signature.

    The upgrade is a GET without a body; it is accepted when any of
    :func:`websocket_url_candidates` validates. Reject a failed upgrade with HTTP 403 *before*
    allocating anything for the call.
    """
    return _validate_any(
        _SignedHeaders.read(headers),
        websocket_url_candidates(public_url, request_target=request_target),
        method="GET",
        params=None,
        auth_token=auth_token,
        main_auth_token=main_auth_token,
    )


def signature_headers(
    url: str,
    auth_token: str,
    *,
    method: str = "POST",
    params: Params | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers Plivo would send for this request: the V3 signature and its nonce.

    For simulators and tests that play Plivo's role. A random nonce is drawn when none is given.
    """
    if nonce is None:
        nonce = str(secrets.randbelow(10**20))
    signature = compute_signature_v3(url, nonce, auth_token, method=method, params=params)
    return {SIGNATURE_HEADER: signature, NONCE_HEADER: nonce}


def _mask(value: str | None) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen
class SignatureValidator:
    """Signature settings for a server: tokens plus the public URL of the stream endpoint.

    ``public_url`` is the stream URL as written in the answer XML (needed only for
    :meth:`validate_websocket`). The ``repr`` shows ``'***'`` in place of the tokens.
    """

    auth_token: str = attrs.field(repr=_mask)
    main_auth_token: str | None = attrs.field(default=None, kw_only=True, repr=_mask)
    public_url: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _check_token(self.auth_token)
        if self.main_auth_token is not None:
            _check_token(self.main_auth_token)
        if self.public_url is not None:
            websocket_url_candidates(self.public_url)  # fail at configuration time, not per call

    def validate_request(
        self,
        headers: HeaderSource,
        *,
        url: str,
        method: str,
        params: Params | None = None,
    ) -> bool:
        """Validate an HTTP request (answer URL, status callback); see
        :func:`validate_request_signature`. ``url`` must be the public URL Plivo called."""
        return validate_request_signature(
            headers,
            url=url,
            method=method,
            params=params,
            auth_token=self.auth_token,
            main_auth_token=self.main_auth_token,
        )

    def validate_websocket(
        self, headers: HeaderSource, *, request_target: str | None = None
    ) -> bool:
        """Validate a WebSocket upgrade against the configured ``public_url``; see
        :func:`validate_websocket_upgrade`."""
        if self.public_url is None:
            raise ConfigurationError(
                "SignatureValidator needs public_url= to validate WebSocket upgrades"
            )
        return validate_websocket_upgrade(
            headers,
            public_url=self.public_url,
            auth_token=self.auth_token,
            main_auth_token=self.main_auth_token,
            request_target=request_target,
        )
