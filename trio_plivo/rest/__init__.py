"""Plivo's voice REST API for streaming apps: start/stop streams, hang up, send DTMF.

::

    from trio_plivo.rest import PlivoRestClient

    async with PlivoRestClient() as plivo:          # PLIVO_AUTH_ID / PLIVO_AUTH_TOKEN
        await plivo.hangup_call(call.call_uuid)    # False if the call was already gone

Errors are :class:`~trio_plivo.PlivoAPIError`; misuse (an empty call UUID, bad DTMF digits,
missing credentials) is :class:`~trio_plivo.ConfigurationError`, raised before any request.
"""

from __future__ import annotations

from ._client import DEFAULT_BASE_URL, PlivoRestClient
from ._models import DtmfSent, StreamInfo, StreamList, StreamStarted

__all__ = [
    "DEFAULT_BASE_URL",
    "DtmfSent",
    "PlivoRestClient",
    "StreamInfo",
    "StreamList",
    "StreamStarted",
]
