"""What Plivo signs: the URL string of a request, and the URLs a WebSocket upgrade may carry.

Plivo's V3 signature covers ``signed_url + "." + nonce`` where ``signed_url`` is rebuilt from
the request (sorted query, POST parameters appended); :func:`signed_url` builds it.

Which URL Plivo signs for a WebSocket upgrade is not documented and the official SDKs
disagree, so :func:`websocket_url_candidates` builds a small set of plausible URLs from the
public URL you configured (the one in your ``<Stream>`` XML) and the upgrade is accepted when
any of them matches. Behind a TLS-terminating proxy the public URL is the only correct source
of the scheme and host: never rebuild it from the request's ``Host`` header.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final, TypeAlias
from urllib.parse import parse_qsl, urlsplit

from .._exceptions import ConfigurationError

__all__ = ["SIGNED_METHODS", "Params", "signed_url", "websocket_url_candidates"]

#: Request parameters: a mapping whose values are one string or several (a multi-valued form
#: field), or a sequence of ``(key, value)`` pairs such as a multidict's ``multi_items()``.
Params: TypeAlias = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]
#: The only methods Plivo signs.
SIGNED_METHODS: Final = frozenset({"GET", "POST"})

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
    if upper not in SIGNED_METHODS:
        raise ConfigurationError(f"Plivo signs only GET and POST requests, not {method!r}")
    return upper


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


def websocket_url_candidates(public_url: str, *, request_target: str | None = None) -> list[str]:
    """The URLs Plivo may have signed for a WebSocket upgrade to ``public_url``.

    ``public_url`` is the URL exactly as written in the ``<Stream>`` XML (the public one, as
    seen from the internet, not what a proxy forwards to you). The candidates are that URL
    with its scheme swapped among ``wss``/``ws``/``https``/``http``, each with and without a
    trailing ``/websocket`` (the official Python SDK signs the latter). When
    ``request_target`` (the path and query of the upgrade request, e.g. ``/stream?call=7``)
    is given, its query is what Plivo signed: the candidates are ``public_url``'s path, then
    the request's own path (no proxy rewrote it), each with *the request's* query and never
    without it, so a signature over ``/stream`` does not admit ``/stream?x=1``. (A proxy that
    rewrites the path keeps the query; the TLS proxy's scheme and host come from
    ``public_url``, never from the request.) Configured-URL-first, no duplicates.
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
        targets = [_target(parts.path, extra.query), _target(extra.path, extra.query)]
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
