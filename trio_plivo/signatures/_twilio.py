"""Twilio request signatures (``X-Twilio-Signature``): compute and validate.

Twilio signs its webhooks (and, with the same scheme, the WebSocket upgrade of a media
stream) so the app can refuse strangers before it spends anything on them::

    payload:   the full URL (with its query), then every POST parameter sorted by name, as name+value
    signature: base64(HMAC-SHA1(auth_token, payload))

Pure functions, constant-time comparison; the auth token never appears in a ``repr``, a log
line or an exception message. Twilio's SDKs also accept the URL with the default port added
or removed (``:443`` for https/wss, ``:80`` for http/ws), because proxies disagree on it; so
does :func:`validate_twilio_signature`.

For a WebSocket upgrade the signed URL is the stream URL as written in the TwiML
(``wss://...``); which scheme Twilio signs it with is not documented, so
:class:`TwilioSignatureValidator` also tries the ``https``/``http`` spellings of the
configured public URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import attrs

from .._exceptions import ConfigurationError
from ._headers import HeaderSource, header_value

# The public names are re-exported (and listed) by trio_plivo.signatures.

TWILIO_SIGNATURE_HEADER: Final = "X-Twilio-Signature"

#: POST parameters: a mapping of one value or several per name, or ``(name, value)`` pairs.
TwilioParams: TypeAlias = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]

_DEFAULT_PORTS: Final = {"https": 443, "wss": 443, "http": 80, "ws": 80}
_SCHEME_TWINS: Final = {"wss": "https", "ws": "http", "https": "wss", "http": "ws"}


def _pairs(params: TwilioParams | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        out: list[tuple[str, str]] = []
        for name, value in params.items():
            values = [value] if isinstance(value, str) else list(value)
            out.extend((name, v) for v in values)
        return out
    return [(name, value) for name, value in params]


def twilio_signed_payload(url: str, params: TwilioParams | None = None) -> str:
    """The string Twilio signs: ``url`` followed by ``name + value`` for every parameter,
    sorted by name, then by value for a repeated name, with no separators. A value repeated
    under the same name counts once (as Twilio's SDKs do; Twilio's test vector agrees)."""
    return url + "".join(name + value for name, value in sorted(set(_pairs(params))))


def _check_token(auth_token: object) -> str:
    if not isinstance(auth_token, str) or not auth_token:
        raise ConfigurationError("the Twilio auth token must be a non-empty string")
    return auth_token


def compute_twilio_signature(url: str, params: TwilioParams | None, auth_token: str) -> str:
    """The ``X-Twilio-Signature`` for a request to ``url`` with POST ``params``."""
    key = _check_token(auth_token).encode()
    digest = hmac.new(key, twilio_signed_payload(url, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> list[str]:
    """``url`` as given, then with its default port added or removed."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    variants = [url]
    if default is None or not parts.hostname:
        return variants
    host = parts.netloc.rpartition("@")[2]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    if parts.port is None:
        other = f"{userinfo}{host}:{default}"
    elif parts.port == default:
        other = userinfo + host.rsplit(":", 1)[0]
    else:
        return variants
    variants.append(urlunsplit(parts._replace(netloc=other)))
    return variants


def validate_twilio_signature(
    signature: str | None,
    url: str | Iterable[str],
    params: TwilioParams | None,
    auth_token: str,
) -> bool:
    """True when ``signature`` is Twilio's for ``url`` (or any of several candidate URLs)
    and ``params``, with the default port added or removed. Constant-time per candidate."""
    key = _check_token(auth_token)
    if not signature:
        return False
    given = signature.strip().encode()
    urls = [url] if isinstance(url, str) else list(url)
    ok = False
    for candidate in urls:
        for variant in _port_variants(candidate):
            expected = compute_twilio_signature(variant, params, key).encode()
            # No early exit: every candidate costs the same, whichever one matches.
            ok |= hmac.compare_digest(expected, given)
    return ok


def twilio_url_candidates(public_url: str, *, request_target: str | None = None) -> list[str]:
    """The URLs Twilio may have signed for a WebSocket upgrade to ``public_url``.

    ``public_url`` is the stream URL as written in the TwiML; ``request_target`` (the path and
    query of the upgrade request) replaces its path and query when given, so per-call query
    strings validate. Each comes with its scheme as configured and its ``https``/``http`` twin.
    """
    parts = urlsplit(public_url.strip())
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
        raise ConfigurationError(
            f"public_url must be an absolute wss://, ws://, https:// or http:// URL, "
            f"got {public_url!r}"
        )
    path, query = parts.path, parts.query
    if request_target is not None:
        target = urlsplit(request_target.strip())
        path, query = target.path or path, target.query
    scheme = parts.scheme.lower()
    candidates = []
    for each in (scheme, _SCHEME_TWINS[scheme]):
        url = urlunsplit((each, parts.netloc, path, query, ""))
        if url not in candidates:
            candidates.append(url)
    return candidates


def _mask(value: str | None) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen
class TwilioSignatureValidator:
    """Twilio signature settings for a server: the auth token and the public stream URL.

    Same shape as :class:`trio_plivo.signatures.SignatureValidator`, so a server can refuse an
    unsigned upgrade (403) before any call exists. The ``repr`` shows ``'***'`` for the token.
    """

    auth_token: str = attrs.field(repr=_mask)
    public_url: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _check_token(self.auth_token)
        if self.public_url is not None:
            twilio_url_candidates(self.public_url)  # fail at configuration time, not per call

    def validate_request(
        self,
        headers: HeaderSource,
        *,
        url: str,
        method: str = "POST",
        params: TwilioParams | None = None,
    ) -> bool:
        """Validate a webhook (answer URL, status callback). ``url`` is the public URL Twilio
        called, query included; ``params`` the form fields of a POST (ignored for GET)."""
        signed_params = params if method.upper() == "POST" else None
        return validate_twilio_signature(
            header_value(headers, TWILIO_SIGNATURE_HEADER), url, signed_params, self.auth_token
        )

    def validate_websocket(
        self, headers: HeaderSource, *, request_target: str | None = None
    ) -> bool:
        """Validate a WebSocket upgrade against the configured ``public_url``."""
        if self.public_url is None:
            raise ConfigurationError(
                "TwilioSignatureValidator needs public_url= to validate WebSocket upgrades"
            )
        return validate_twilio_signature(
            header_value(headers, TWILIO_SIGNATURE_HEADER),
            twilio_url_candidates(self.public_url, request_target=request_target),
            None,
            self.auth_token,
        )
