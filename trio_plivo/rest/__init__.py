"""Providers' voice REST APIs, for what a stream cannot do itself (on httpx).

Plivo: start/stop streams, hang up, send DTMF::

    from trio_plivo.rest import PlivoRestClient

    async with PlivoRestClient() as plivo:          # PLIVO_AUTH_ID / PLIVO_AUTH_TOKEN
        await plivo.hangup_call(call.call_uuid)    # False if the call was already gone

Errors are :class:`~trio_plivo.PlivoAPIError`; misuse (an empty call UUID, bad DTMF digits,
missing credentials) is :class:`~trio_plivo.ConfigurationError`, raised before any request.

Twilio: hang up (Twilio streams have no in-stream hang-up message)::

    from trio_plivo.rest import TwilioRestClient

    config = CallConfig(hangup_client=TwilioRestClient(account_sid, auth_token))

Its failures are :class:`TwilioAPIError`. Neither client ever shows its auth token.
"""

from __future__ import annotations

from ._plivo import DEFAULT_BASE_URL, PlivoRestClient
from ._plivo_models import DtmfSent, StreamInfo, StreamList, StreamStarted
from ._twilio import DEFAULT_TWILIO_API, TwilioAPIError, TwilioRestClient

__all__ = [
    # Plivo
    "DEFAULT_BASE_URL",
    "DtmfSent",
    "PlivoRestClient",
    "StreamInfo",
    "StreamList",
    "StreamStarted",
    # Twilio
    "DEFAULT_TWILIO_API",
    "TwilioAPIError",
    "TwilioRestClient",
]
