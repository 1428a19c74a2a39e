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

Which URL Plivo signs for a WebSocket upgrade is not documented and the official SDKs
disagree, so :func:`websocket_url_candidates` builds a small set of plausible URLs from the
public URL you configured (the one in your ``<Stream>`` XML) and the upgrade is accepted when
any of them matches. Behind a TLS-terminating proxy the public URL is the only correct source
of the scheme and host: never rebuild it from the request's ``Host`` header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol, TypeAlias, runtime_checkable
from urllib.parse import parse_qsl, urlsplit

import attrs

from ._exceptions import ConfigurationError

__all__ = [
    "MAIN_SIGNATURE_HEADER",
    "HeaderSource",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "Params",
    "SignatureValidator",
    "SupportsHeaderGet",
    "compute_signature_v3",
    "signed_url",
    "signature_headers",
    "validate_request_signature",
    "validate_signature_v3",
    "validate_websocket_upgrade",
    "websocket_url_candidates",
]

#: Signature keyed with the (sub)account auth token.
SIGNATURE_HEADER: Final = "X-Plivo-Signature-V3"
#: Signature keyed with the main account's auth token (sent alongside the V3 header).
MAIN_SIGNATURE_HEADER: Final = "X-Plivo-Signature-Ma-V3"
#: The nonce both signatures cover.
NONCE_HEADER: Final = "X-Plivo-Signature-V3-Nonce"

#: Request parameters: a mapping whose values are one string or several (a multi-valued form
#: field), or a sequence of ``(key, value)`` pairs such as a multidict's ``multi_items()``.
Params: TypeAlias = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]


@runtime_checkable
class SupportsHeaderGet(Protocol):
    """A case-insensitive header collection (``trio_plivo.ws.Headers``, ``httpx.Headers``,
    Starlette's ``Headers`` ...): ``get(name)`` returns the first value or ``None``."""

    def get(self, name: str, /) -> str | None: ...


#: Where request headers can come from: a mapping (looked up case-insensitively), a
#: case-insensitive header object, or ``(name, value)`` pairs (``str`` or ``bytes``, as
#: trio-websocket and h11 give them).
HeaderSource: TypeAlias = (
    Mapping[str, str] | SupportsHeaderGet | Iterable[tuple[str, str] | tuple[bytes, bytes]]
)

_METHODS: Final = frozenset({"GET", "POST"})
_WEBSOCKET_SUFFIX: Final = "/websocket"
_SCHEME_FAMILY: Final = ("wss", "ws", "https", "http")


def _normalise_params(params: Params | None) -> dict[str, list[str]]:
    """Collect parameters into ``{key: [values...]}`` (the shape the algorithm sorts)."""
    result: dict[str, list[str]] = {}
    if params is None:
        return result
    pairs: Iterable[tuple[str, str | Sequence[str]]]
    pairs = params.items() if isinstance(params, Mapping) else params
    for key, value in pairs:
        values = result.setdefault(str(key), [])
        if isinstance(value, str):
            values.append(value)
        else:
            values.extend(str(item) for item in value)
    return result


def _sorted_query(query: Mapping[str, list[str]]) -> str:
    # Plain code-point order for keys and for the values of one key, as every SDK does.
    return "&".join(f"{key}={value}" for key in sorted(query) for value in sorted(query[key]))


def _sorted_concatenation(params: Mapping[str, list[str]]) -> str:
    # POST fields are appended with no separators at all: key+value, key+value ...
    return "".join(f"{key}{value}" for key in sorted(params) for value in sorted(params[key]))


def _check_method(method: str) -> str:
    upper = method.upper()
    if upper not in _METHODS:
        raise ConfigurationError(f"Plivo signs only GET and POST requests, not {method!r}")
    return upper


def _check_token(auth_token: str) -> None:
    # An empty key would make every signature trivially forgeable; refuse instead of "validating".
    if not isinstance(auth_token, str) or not auth_token:
        raise ConfigurationError("the auth token must be a non-empty string")


def signed_url(url: str, *, method: str = "POST", params: Params | None = None) -> str:
    """The exact string (before ``"." + nonce``) that Plivo signs for this request.

    Useful for debugging a signature mismatch: compare it with what you expected Plivo to call.
    """
    method = _check_method(method)
    parts = urlsplit(url.strip())
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    query = _normalise_params(parse_qsl(parts.query, keep_blank_values=True))
    body = _normalise_params(params)
    if method == "GET":
        # Query values win over a caller-supplied copy of the same key, so passing the
        # request's query parameters again as ``params`` does not count them twice.
        merged = {**body, **query}
        return f"{base}?{_sorted_query(merged)}" if merged else base
    if not body:
        return f"{base}?{_sorted_query(query)}" if query else base
    prefix = f"{_sorted_query(query)}." if query else ""
    return f"{base}?{prefix}{_sorted_concatenation(body)}"


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
    if not nonce or not signature_header or method.upper() not in _METHODS:
        return False
    expected = compute_signature_v3(url, nonce, auth_token, method=method, params=params).encode()
    matched = False
    for candidate in signature_header.split(","):
        # Check every entry (no early exit) so timing does not reveal which one matched.
        matched |= hmac.compare_digest(expected, candidate.strip().encode())
    return matched


def _decode(text: str | bytes) -> str:
    return text.decode("latin-1") if isinstance(text, bytes) else text


def _header(headers: HeaderSource, name: str) -> str | None:
    wanted = name.lower()
    if isinstance(headers, Mapping):
        value = headers.get(name)
        if value is not None:
            return value
        # A plain dict is case-sensitive; HTTP header names are not.
        for key, item in headers.items():
            if key.lower() == wanted:
                return item
        return None
    if isinstance(headers, SupportsHeaderGet):
        return headers.get(name)
    for key, item in headers:
        if _decode(key).lower() == wanted:
            return _decode(item)
    return None


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
            _header(headers, NONCE_HEADER),
            _header(headers, SIGNATURE_HEADER),
            _header(headers, MAIN_SIGNATURE_HEADER),
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


def websocket_url_candidates(public_url: str, *, request_target: str | None = None) -> list[str]:
    """The URLs Plivo may have signed for a WebSocket upgrade to ``public_url``.

    ``public_url`` is the URL exactly as written in the ``<Stream>`` XML (the public one, as
    seen from the internet, not what a proxy forwards to you). The candidates are that URL
    with its scheme swapped among ``wss``/``ws``/``https``/``http``, each with and without a
    trailing ``/websocket`` (the official Python SDK signs the latter). When
    ``request_target`` (the path and query of the upgrade request, e.g. ``/stream?call=7``)
    is given, the same variants of ``public_url``'s origin plus that target are added, so
    per-call query strings validate too. Configured-URL-first, no duplicates.
    """
    parts = urlsplit(public_url.strip())
    if parts.scheme.lower() not in _SCHEME_FAMILY or not parts.netloc:
        raise ConfigurationError(
            f"public_url must be an absolute ws://, wss://, http:// or https:// URL, "
            f"got {public_url!r}"
        )
    targets = [_target(parts.path, parts.query)]
    if request_target is not None:
        extra = urlsplit(request_target.strip())
        targets.append(_target(extra.path, extra.query))
    # The configured scheme first: it is the one most likely to match.
    schemes = [parts.scheme.lower()] + [s for s in _SCHEME_FAMILY if s != parts.scheme.lower()]
    candidates: list[str] = []
    for path, query in targets:
        for scheme in schemes:
            origin = f"{scheme}://{parts.netloc}"
            suffix = f"?{query}" if query else ""
            variants = [
                f"{origin}{path}{suffix}",
                f"{origin}{path}{_WEBSOCKET_SUFFIX}{suffix}",
                # For ".../stream/" the plain append gives "//websocket"; try the tidy form too.
                f"{origin}{path.rstrip('/')}{_WEBSOCKET_SUFFIX}{suffix}",
            ]
            if query:
                # The Python SDK appends the suffix to the whole URL string, query included.
                variants.append(f"{origin}{path}{suffix}{_WEBSOCKET_SUFFIX}")
            candidates.extend(v for v in variants if v not in candidates)
    return candidates


def _target(path: str, query: str) -> tuple[str, str]:
    return (path.removesuffix(_WEBSOCKET_SUFFIX) if path != _WEBSOCKET_SUFFIX else path, query)


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
