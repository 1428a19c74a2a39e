"""The public URLs of the one-port app, as Plivo sees them (pure functions, no I/O).

Behind a TLS-terminating proxy the app sees ``http`` and an internal host; Plivo called
``https://public.example/answer``. Two sources can say what the public URL is:

* ``--public-url`` (the stream URL as it must appear in the XML), which is authoritative:
  every other public URL takes its scheme family and host, and the path prefix in front of
  the stream path (``wss://x.example/bot/stream`` with stream path ``/stream`` means the proxy
  strips ``/bot``, so the answer URL is ``https://x.example/bot/answer``);
* otherwise the request itself: ``X-Forwarded-Proto`` (``https`` means TLS in front of us),
  ``X-Forwarded-Host`` or else ``Host``. Those headers are client-controlled, which is harmless
  for what they are used for: building the caller's own XML, and choosing which URL a
  signature is checked against (a forger still needs a signature made with our token).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

import attrs

from .._exceptions import ConfigurationError
from ..ws import Headers

__all__ = ["PublicOrigin", "origin_from_public_url", "origin_from_request"]

# A DNS name or IPv4 address, or a bracketed IPv6 literal, with an optional port. Anything
# else (a slash, a query, spaces, an "@") would let a header reshape the URLs we build.
_HOST: Final = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)


@attrs.frozen
class PublicOrigin:
    """Where the app lives publicly: TLS or not, host (with port), path prefix."""

    secure: bool
    host: str
    #: Prepended to every route path ("" when the proxy does not rewrite paths).
    prefix: str = ""

    def http_url(self, target: str) -> str:
        """``http(s)://host/prefix`` + ``target`` (a path with an optional query)."""
        return f"{'https' if self.secure else 'http'}://{self.host}{self.prefix}{target}"

    def ws_url(self, target: str) -> str:
        """``ws(s)://host/prefix`` + ``target``."""
        return f"{'wss' if self.secure else 'ws'}://{self.host}{self.prefix}{target}"


def _first(value: str | None) -> str | None:
    # Proxies append: the first entry is the one the client's proxy (ours, at the edge) set.
    if value is None:
        return None
    return value.split(",", 1)[0].strip() or None


def origin_from_request(headers: Headers, *, tls: bool = False) -> PublicOrigin | None:
    """The origin the request addressed (``X-Forwarded-*`` aware; ``tls``: it came over
    TLS to us, so https/wss unless a proxy says otherwise); ``None`` when it names no usable
    host."""
    host = _first(headers.get("X-Forwarded-Host")) or (headers.get("Host") or "").strip()
    if not _HOST.fullmatch(host):
        return None
    proto = (_first(headers.get("X-Forwarded-Proto")) or ("https" if tls else "http")).lower()
    return PublicOrigin(secure=proto in ("https", "wss"), host=host)


def origin_from_public_url(public_url: str, stream_path: str) -> PublicOrigin:
    """The origin implied by a configured public stream URL (see the module docstring).
    Raises :class:`~trio_plivo.ConfigurationError` for anything but a ws/wss URL with a host."""
    parts = urlsplit(public_url.strip())
    if parts.scheme.lower() not in ("ws", "wss") or not _HOST.fullmatch(parts.netloc):
        raise ConfigurationError(
            f"public_url must be a ws:// or wss:// URL with a host, got {public_url!r}"
        )
    path = parts.path.rstrip("/")
    prefix = path.removesuffix(stream_path.rstrip("/")) if path.endswith(stream_path) else ""
    return PublicOrigin(secure=parts.scheme.lower() == "wss", host=parts.netloc, prefix=prefix)
