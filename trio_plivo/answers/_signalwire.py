"""SignalWire cXML: TwiML's ``<Stream>`` plus ``codec``, ``authBearerToken`` and ``realtime``."""

from __future__ import annotations

from collections.abc import Mapping

from .._exceptions import ConfigurationError
from .._format import AudioFormat, Encoding
from ._common import check_parameters, check_text, stream_attributes, stream_document

__all__ = ["signalwire_stream"]


def signalwire_stream(
    url: str,
    *,
    bidirectional: bool = True,
    codec: str | AudioFormat | None = None,
    auth_bearer_token: str | None = None,
    realtime: bool | None = None,
    parameters: Mapping[str, object] | None = None,
    name: str | None = None,
    track: str | None = None,
    status_callback: str | None = None,
    status_callback_method: str | None = None,
) -> str:
    """SignalWire cXML: :func:`twilio_stream` plus ``codec`` (``"L16@16000h"`` or an
    :class:`AudioFormat`), ``auth_bearer_token`` and ``realtime``. ``url`` must be ``wss://``.
    """
    from ..protocol.signalwire import parse_signalwire_codec

    attributes = stream_attributes(url, name, track, status_callback, status_callback_method)
    if codec is not None:
        fmt = parse_signalwire_codec(codec) if isinstance(codec, str) else codec
        if not isinstance(fmt, AudioFormat):
            raise ConfigurationError(f"codec must be a string or AudioFormat, got {codec!r}")
        spelled = {Encoding.MULAW: "PCMU", Encoding.ALAW: "PCMA", Encoding.L16: "L16"}
        attributes["codec"] = f"{spelled[fmt.encoding]}@{fmt.sample_rate}h"
    if auth_bearer_token is not None:
        attributes["authBearerToken"] = check_text(auth_bearer_token, "auth_bearer_token")
    if realtime is not None:
        if not isinstance(realtime, bool):
            raise ConfigurationError(f"realtime must be True or False, got {realtime!r}")
        attributes["realtime"] = realtime
    return stream_document(bidirectional, attributes, check_parameters(parameters, "parameter"))
