"""Twilio TwiML: answer a call with ``<Connect|Start><Stream url=...>``.

The document shape is shared with SignalWire's cXML and Telnyx's TeXML (see ``_common``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .._exceptions import ConfigurationError
from ._common import check_parameters, stream_attributes, stream_document

__all__ = ["twilio_stream"]


def twilio_stream(
    url: str,
    *,
    bidirectional: bool = True,
    parameters: Mapping[str, object] | None = None,
    name: str | None = None,
    track: str | None = None,
    status_callback: str | None = None,
    status_callback_method: str | None = None,
) -> str:
    """TwiML answering a call with a media stream to ``url`` (``wss://`` only).

    ``bidirectional=True`` gives ``<Connect><Stream>`` (the app can play audio; ``track``
    must stay inbound), ``False`` gives ``<Start><Stream>`` (a tap). ``parameters`` become
    ``<Parameter>`` children (``Start.custom_parameters`` on the stream). Raises
    :class:`~trio_plivo.ConfigurationError` for anything Twilio would reject.
    """
    attributes = stream_attributes(url, name, track, status_callback, status_callback_method)
    if bidirectional and track not in (None, "inbound_track"):
        raise ConfigurationError("a bidirectional <Connect><Stream> only streams inbound_track")
    return stream_document(bidirectional, attributes, check_parameters(parameters, "parameter"))
