"""What the HTTP providers share: API keys from the environment, the per-call client, and
mapping every failure to :class:`~trio_plivo.agent.ProviderError` without leaking the key."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx

from ..._exceptions import ConfigurationError
from .._aiter import closing
from .._errors import ProviderError

__all__ = ["HttpService", "api_key_from", "closing", "raise_for_status", "scrub"]


_T = TypeVar("_T")


def api_key_from(explicit: str | None, env: str, provider: str) -> str:
    """The API key: ``explicit``, else the ``env`` variable; ConfigurationError if neither
    (before anything connects)."""
    key = explicit if explicit is not None else os.environ.get(env, "")
    if not key:
        raise ConfigurationError(f"{provider} needs an API key: set {env} or pass api_key=")
    return key


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` masked (an error body that echoes the request, say)."""
    return text.replace(secret, "***") if secret else text


class HttpService:
    """Base of the HTTP providers: one ``httpx.AsyncClient`` per call session.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests, or a shared
    pooled transport); the key only ever goes into request headers.
    """

    name = "http"

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        secret: str | None,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        self._secret = secret
        self._timeout = timeout
        self._transport = transport

    def __repr__(self) -> str:
        # Never the headers: they hold the key.
        return f"<{type(self).__name__} {self._base_url}>"

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """The client for one call; closed (every connection with it) on the way out."""
        async with httpx.AsyncClient(
            base_url=self._base_url,
            headers=self._headers,
            timeout=httpx.Timeout(self._timeout, connect=10.0),
            transport=self._transport,
        ) as client:
            yield client

    def error(self, message: str, status_code: int | None = None) -> ProviderError:
        return ProviderError(self.name, scrub(message, self._secret), status_code=status_code)

    def failure(self, exc: Exception) -> ProviderError:
        """Map a transport or parsing failure."""
        if isinstance(exc, httpx.TimeoutException):
            return self.error(f"timed out ({type(exc).__name__})")
        if isinstance(exc, httpx.HTTPError):
            return self.error(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, json.JSONDecodeError | KeyError | TypeError | ValueError):
            return self.error(f"malformed answer ({type(exc).__name__}: {exc})")
        return self.error(f"{type(exc).__name__}: {exc}")


async def raise_for_status(service: HttpService, response: httpx.Response) -> None:
    """A ProviderError with the status and the start of the body for a 4xx/5xx answer."""
    if response.status_code < 400:
        return
    body = (await response.aread())[:300].decode("utf-8", "replace")
    raise service.error(f"HTTP {response.status_code}: {body}", response.status_code)


#: The failures the providers map (everything else is a bug and propagates).
MAPPED = (httpx.HTTPError, json.JSONDecodeError, KeyError, TypeError, ValueError)
