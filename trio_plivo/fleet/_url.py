"""``redis://`` URLs: parsed once, checked before anything connects, shown without the password."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import attrs

from .._exceptions import ConfigurationError

__all__ = ["RedisURL"]

_SCHEMES = {"redis": False, "rediss": True}
_DEFAULT_PORT = 6379


@attrs.frozen(repr=False)
class RedisURL:
    """Where the fleet's Redis is and how to log in.

    Written ``redis://[[user]:password@]host[:port][/db]``; ``rediss://`` is the same over TLS
    (server certificate checked against the system's trusted authorities). Parse one with
    :meth:`parse`. ``repr``/``str`` show the URL with ``***`` for the password, and so does every
    error this package raises about it.
    """

    host: str
    port: int = _DEFAULT_PORT
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> RedisURL:
        """Parse ``url``; :class:`~trio_plivo.ConfigurationError` if it can never work (the
        message repeats the URL with the password masked)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            # urlsplit's own message may quote the netloc, password included.
            raise ConfigurationError(
                f"not a Redis URL: {_mask_netloc(url)!r} (bad host or port)"
            ) from None
        shown = _mask_netloc(url)
        if parts.scheme not in _SCHEMES:
            raise ConfigurationError(
                f"Redis URL {shown!r} must start with redis:// or rediss://"
                " (unix sockets are not supported)"
            )
        if not parts.hostname:
            raise ConfigurationError(f"Redis URL {shown!r} has no host")
        if parts.query or parts.fragment:
            raise ConfigurationError(f"Redis URL {shown!r}: options after '?' or '#' are not read")
        db_text = parts.path.lstrip("/")
        if db_text and not db_text.isdigit():
            raise ConfigurationError(
                f"Redis URL {shown!r}: the path must be a database number, not {db_text!r}"
            )
        return cls(
            host=parts.hostname,
            port=port if port is not None else _DEFAULT_PORT,
            db=int(db_text or 0),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            tls=_SCHEMES[parts.scheme],
        )

    def redacted(self) -> str:
        """The URL with the password replaced by ``***``: safe for logs and error messages."""
        scheme = "rediss" if self.tls else "redis"
        login = ""
        if self.password is not None:
            login = f"{self.username or ''}:***@"
        elif self.username:
            login = f"{self.username}@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{login}{host}:{self.port}/{self.db}"

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the password masked (for messages that come from
        the Redis client library, which we do not control)."""
        if not self.password:
            return text
        return text.replace(self.password, "***")

    def __repr__(self) -> str:
        return f"RedisURL({self.redacted()!r})"

    __str__ = redacted


def _mask_netloc(url: str) -> str:
    """``url`` with whatever sits between ``://`` and the last ``@`` of its authority masked,
    without trusting it to parse (it is the URL we could not parse)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url if "@" not in url else "***"
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}://{authority}{slash}{path}"
