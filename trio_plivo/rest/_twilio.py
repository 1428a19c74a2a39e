"""``TwilioRestClient``: hang up a Twilio call over the REST API (on httpx).

Twilio streams have no in-stream hang-up message, so :meth:`Call.hangup` needs this::

    rest = TwilioRestClient(account_sid, auth_token)
    config = CallConfig(hangup_client=rest)

``hangup_call(call_sid)`` POSTs ``Status=completed`` to
``/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` with HTTP Basic auth. Identifiers
are checked before any request (no path tricks), a 404 means the call is already gone
(``False``, not an error), and every other failure is a :class:`TwilioAPIError`. The auth
token lives only in httpx's auth object: never in a ``repr``, a log line or an error.
"""

from __future__ import annotations

import re
from typing import Final, final

import httpx
import trio

from .._exceptions import ConfigurationError, TrioPlivoError

__all__ = ["DEFAULT_TWILIO_API", "TwilioAPIError", "TwilioRestClient"]

DEFAULT_TWILIO_API: Final = "https://api.twilio.com"
_SID: Final = re.compile(r"[A-Za-z0-9]{2,64}")


class TwilioAPIError(TrioPlivoError):
    """A Twilio REST request failed (``status_code`` is ``None`` for a network failure)."""

    def __init__(self, status_code: int | None, message: str) -> None:
        super().__init__(f"Twilio API error {status_code}: {message}")
        self.status_code = status_code
        self.message = message


def _sid(value: object, what: str) -> str:
    if not isinstance(value, str) or not _SID.fullmatch(value):
        raise ConfigurationError(f"{what} must be a Twilio SID (letters and digits), got {value!r}")
    return value


@final
class TwilioRestClient(trio.abc.AsyncResource):
    """The Twilio REST calls a streaming app needs (today: hang up). Use as an async
    context manager, or call :meth:`aclose`. ``transport`` is for tests
    (``httpx.MockTransport``)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str = DEFAULT_TWILIO_API,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._account_sid = _sid(account_sid, "account_sid")
        if not isinstance(auth_token, str) or not auth_token:
            raise ConfigurationError("the Twilio auth token must be a non-empty string")
        if not base_url.startswith(("https://", "http://")):
            raise ConfigurationError(f"base_url must be an http(s) URL, got {base_url!r}")
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(account_sid, auth_token),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "trio-plivo"},
        )

    def __repr__(self) -> str:
        return f"<TwilioRestClient account_sid={self._account_sid!r}>"

    async def hangup_call(self, call_sid: str) -> bool:
        """End the call ``call_sid``. True when Twilio ended it, False when it was already
        gone (404). Raises :class:`TwilioAPIError` for any other failure."""
        path = f"/2010-04-01/Accounts/{self._account_sid}/Calls/{_sid(call_sid, 'call_sid')}.json"
        try:
            response = await self._client.post(path, data={"Status": "completed"})
        except httpx.HTTPError as exc:
            raise TwilioAPIError(None, f"{type(exc).__name__} hanging up {call_sid}") from exc
        if response.status_code == 404:
            return False
        if response.is_success:
            return True
        try:
            detail = str(response.json().get("message", ""))
        except ValueError:
            detail = response.text[:200]
        raise TwilioAPIError(response.status_code, detail or response.reason_phrase)

    async def aclose(self) -> None:
        await self._client.aclose()
