"""``PlivoRestClient``: the few Plivo REST calls a streaming voice app needs, on httpx.

Theory of operation:

* One ``httpx.AsyncClient`` per ``PlivoRestClient`` (connection pooling); it runs under Trio
  through anyio. Tests and special setups pass a ``transport`` (``httpx.MockTransport``).
* Every URL is built here from validated identifiers and ends with ``/`` as Plivo requires.
  An empty call UUID is refused before any request: ``DELETE .../Call/`` hangs up *every*
  call of the account.
* Retries: GET and DELETE are idempotent, so they are retried (exponential backoff with
  jitter, ``trio.sleep``) on network errors, 429 and 5xx. A POST is retried only when the
  connection was never made, because only then do we know Plivo did not act on it.
* Failures become :class:`~trio_plivo.PlivoAPIError`; a network failure after the last retry
  has ``status_code=None`` and chains the httpx exception.
* The auth token lives only inside httpx's Basic-auth object: it is never stored on this
  object, shown in its ``repr``, logged, or put in an exception message.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from collections.abc import Mapping
from typing import Final, final
from urllib.parse import quote

import httpx
import trio

from .._exceptions import ConfigurationError, PlivoAPIError
from .._format import AudioFormat
from ..answers import Stream
from ._plivo_models import DtmfSent, StreamInfo, StreamList, StreamStarted

__all__ = ["DEFAULT_BASE_URL", "PlivoRestClient"]

DEFAULT_BASE_URL: Final = "https://api.plivo.com/v1"

_logger = logging.getLogger("trio_plivo.rest")

_IDEMPOTENT: Final = frozenset({"GET", "DELETE"})
_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
# Failures where the request certainly never reached Plivo, so even a POST may be resent.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_DTMF: Final = re.compile(r"[0-9A-D*#wW]+")
_LEGS: Final = ("aleg", "bleg")
_USER_AGENT: Final = "trio-plivo"


def _identifier(value: object, what: str) -> str:
    # Dots and slashes would let an id walk up the URL path (".." -> the account itself).
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ConfigurationError(
            f"{what} must be a non-empty Plivo identifier (letters, digits, '-', '_'), "
            f"got {value!r}"
        )
    return value


@final
class PlivoRestClient(trio.abc.AsyncResource):
    """Async client for Plivo's voice REST API (streams, hang-up, DTMF).

    Credentials default to the ``PLIVO_AUTH_ID`` and ``PLIVO_AUTH_TOKEN`` environment
    variables; the constructor raises :class:`~trio_plivo.ConfigurationError` right away if
    either is missing or empty. ``timeout`` (seconds) bounds each attempt; ``max_retries`` is
    the number of extra attempts after the first. Use it as ``async with PlivoRestClient() as
    plivo:``, or call :meth:`aclose` when done.
    """

    def __init__(
        self,
        auth_id: str | None = None,
        auth_token: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
    ) -> None:
        if auth_id is None:
            auth_id = os.environ.get("PLIVO_AUTH_ID")
        if auth_token is None:
            auth_token = os.environ.get("PLIVO_AUTH_TOKEN")
        if not auth_id:
            raise ConfigurationError("no Plivo auth id: pass auth_id= or set PLIVO_AUTH_ID")
        if not auth_token:
            raise ConfigurationError(
                "no Plivo auth token: pass auth_token= or set PLIVO_AUTH_TOKEN"
            )
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"timeout must be a positive number, got {timeout!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if backoff_initial < 0 or backoff_max < backoff_initial:
            raise ConfigurationError("need 0 <= backoff_initial <= backoff_max")
        self._auth_id = _identifier(auth_id, "auth_id")
        self._base_url = base_url.rstrip("/")
        self._max_retries = max_retries
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._client = httpx.AsyncClient(
            auth=httpx.BasicAuth(auth_id, auth_token),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"PlivoRestClient(auth_id={self._auth_id!r}, base_url={self._base_url!r})"

    @property
    def auth_id(self) -> str:
        """The account (or subaccount) id requests are made for."""
        return self._auth_id

    async def aclose(self) -> None:
        """Close the connection pool. Idempotent."""
        await self._client.aclose()

    # --- streams ------------------------------------------------------------------------------

    async def start_stream(
        self,
        call_uuid: str,
        service_url: str,
        *,
        bidirectional: bool | None = None,
        audio_track: str | None = None,
        stream_timeout: int | None = None,
        status_callback_url: str | None = None,
        status_callback_method: str | None = None,
        content_type: AudioFormat | str | None = None,
        extra_headers: Mapping[str, str] | str | None = None,
    ) -> StreamStarted:
        """Start streaming a live call's audio to ``service_url`` (ws/wss).

        Takes the same settings, with the same validation, as :class:`trio_plivo.answers.Stream`.
        Not retried once the request may have reached Plivo (a second stream would start).
        """
        # One validation path for XML and REST: build the XML element and read it back.
        stream = Stream(
            service_url,
            bidirectional=bidirectional,
            audio_track=audio_track,
            stream_timeout=stream_timeout,
            status_callback_url=status_callback_url,
            status_callback_method=status_callback_method,
            content_type=content_type,
            extra_headers=extra_headers,
        )
        body = {
            "service_url": stream.url,
            "bidirectional": stream.bidirectional,
            "audio_track": stream.audio_track,
            "stream_timeout": stream.stream_timeout,
            "status_callback_url": stream.status_callback_url,
            "status_callback_method": stream.status_callback_method,
            "content_type": stream.content_type,
            "extra_headers": stream.extra_headers,
        }
        path = self._call_path(call_uuid, "Stream")
        data = await self._json("POST", path, json={k: v for k, v in body.items() if v is not None})
        stream_id = data.get("stream_id")
        if not isinstance(stream_id, str) or not stream_id:
            raise PlivoAPIError(None, _api_id(data), "start_stream response had no stream_id")
        return StreamStarted.from_json(data, stream_id)

    async def list_streams(self, call_uuid: str) -> StreamList:
        """The audio streams of a call."""
        return StreamList.from_json(await self._json("GET", self._call_path(call_uuid, "Stream")))

    async def get_stream(self, call_uuid: str, stream_id: str) -> StreamInfo:
        """One audio stream of a call."""
        path = self._call_path(call_uuid, "Stream", _identifier(stream_id, "stream_id"))
        return StreamInfo.from_json(await self._json("GET", path))

    async def stop_stream(self, call_uuid: str, stream_id: str) -> bool:
        """Stop one stream. ``True`` if Plivo stopped it, ``False`` if it was already gone
        (404). An empty ``stream_id`` is refused: it would mean "all streams"."""
        path = self._call_path(call_uuid, "Stream", _identifier(stream_id, "stream_id"))
        return await self._delete(path)

    async def stop_all_streams(self, call_uuid: str) -> bool:
        """Stop every stream of a call; ``False`` if the call was already gone (404)."""
        return await self._delete(self._call_path(call_uuid, "Stream"))

    # --- calls --------------------------------------------------------------------------------

    async def hangup_call(self, call_uuid: str) -> bool:
        """Hang up a call. ``True`` if Plivo hung it up, ``False`` if it had already ended
        (404 is success here: the call is gone either way).

        ``call_uuid`` is checked before any request: Plivo reads an empty one as "hang up
        every call on the account".
        """
        return await self._delete(self._call_path(call_uuid))

    async def send_dtmf(self, call_uuid: str, digits: str, *, leg: str = "aleg") -> DtmfSent:
        """Play DTMF ``digits`` (``0-9``, ``A-D``, ``*``, ``#``; ``w``/``W`` pause 0.5 s/1 s)
        into the call, on the ``"aleg"`` (default) or ``"bleg"``. Not retried once sent."""
        if not isinstance(digits, str) or not _DTMF.fullmatch(digits):
            raise ConfigurationError(f"digits must match [0-9A-D*#wW]+, got {digits!r}")
        if leg not in _LEGS:
            raise ConfigurationError(f"leg must be 'aleg' or 'bleg', got {leg!r}")
        path = self._call_path(call_uuid, "DTMF")
        return DtmfSent.from_json(
            await self._json("POST", path, json={"digits": digits, "leg": leg})
        )

    # --- plumbing -----------------------------------------------------------------------------

    def _call_path(self, call_uuid: str, *rest: str) -> str:
        segments = ["Account", self._auth_id, "Call", _identifier(call_uuid, "call_uuid"), *rest]
        return "/" + "/".join(quote(s, safe="") for s in segments) + "/"

    async def _delete(self, path: str) -> bool:
        response = await self._request("DELETE", path)
        if response.status_code == 404:
            return False
        if response.is_success:
            return True
        raise _api_error(response)

    async def _json(
        self, method: str, path: str, *, json: Mapping[str, object] | None = None
    ) -> Mapping[str, object]:
        response = await self._request(method, path, json=json)
        if not response.is_success:
            raise _api_error(response)
        if not response.content.strip():
            return {}
        try:
            data = response.json()
        except ValueError:
            raise PlivoAPIError(
                response.status_code, None, f"{method} {path}: response is not JSON"
            ) from None
        if not isinstance(data, Mapping):
            raise PlivoAPIError(
                response.status_code, None, f"{method} {path}: response is not a JSON object"
            )
        return data

    async def _request(
        self, method: str, path: str, *, json: Mapping[str, object] | None = None
    ) -> httpx.Response:
        idempotent = method in _IDEMPOTENT
        url = self._base_url + path
        attempt = 0
        while True:
            try:
                response = await self._client.request(method, url, json=json)
            except httpx.TransportError as exc:
                retry = idempotent or isinstance(exc, _NOT_SENT)
                if not retry or attempt >= self._max_retries:
                    raise PlivoAPIError(
                        None,
                        None,
                        f"{method} {path} failed after {attempt + 1} attempt(s): "
                        f"{type(exc).__name__}: {exc}",
                    ) from exc
                reason = type(exc).__name__
            else:
                if (
                    not idempotent
                    or response.status_code not in _RETRY_STATUSES
                    or attempt >= self._max_retries
                ):
                    return response
                reason = f"HTTP {response.status_code}"
            delay = self._backoff(attempt)
            attempt += 1
            _logger.warning(
                "Plivo %s %s: %s; retry %d/%d in %.2fs",
                method,
                path,
                reason,
                attempt,
                self._max_retries,
                delay,
            )
            await trio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        # "Equal jitter": at least half the exponential delay, so retries never bunch up at 0.
        delay = min(self._backoff_max, self._backoff_initial * 2.0**attempt)
        return delay / 2 + random.uniform(0, delay / 2)


def _api_id(data: Mapping[str, object]) -> str | None:
    value = data.get("api_id")
    return value if isinstance(value, str) else None


def _api_error(response: httpx.Response) -> PlivoAPIError:
    """Map a non-2xx response to ``PlivoAPIError`` using Plivo's ``{"api_id", "error"}``."""
    api_id: str | None = None
    message: str | None = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        api_id = _api_id(body)
        error = body.get("error", body.get("message"))
        if isinstance(error, str):
            message = error
        elif error is not None:
            # Validation errors come as {"field": "problem"}; keep them readable.
            message = json.dumps(error, separators=(",", ":"), sort_keys=True)
    if not message:
        message = response.text.strip()[:500] or response.reason_phrase or "no details"
    return PlivoAPIError(response.status_code, api_id, message)
