"""TwiML-family stream answers: Twilio TwiML, SignalWire cXML, Telnyx TeXML.

All three put the stream in ``<Response>`` as ``<Connect><Stream url=...>`` (bidirectional:
the document blocks until the stream ends) or ``<Start><Stream url=...>`` (a unidirectional
tap; the document goes on), with ``<Parameter name= value=/>`` children that arrive in the
``start`` message as custom parameters. Unlike Plivo, the URL is an attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._exceptions import ConfigurationError
from .._format import AudioFormat, Encoding
from ._common import check_choice, check_parameters, check_text, check_url, element, to_xml

__all__ = ["signalwire_stream", "telnyx_stream", "twilio_stream"]

_TRACKS: Final = ("inbound_track", "outbound_track", "both_tracks")
_METHODS: Final = ("GET", "POST")
_VERBS: Final = {True: "Connect", False: "Start"}


def _stream_document(
    bidirectional: bool, attributes: dict[str, object | None], parameters: dict[str, str]
) -> str:
    if not isinstance(bidirectional, bool):
        raise ConfigurationError(f"bidirectional must be True or False, got {bidirectional!r}")
    root = element("Response", {})
    verb = element(_VERBS[bidirectional], {})
    stream = element("Stream", attributes)
    for name, value in parameters.items():
        stream.append(element("Parameter", {"name": name, "value": value}))
    verb.append(stream)
    root.append(verb)
    return to_xml(root)


def _common(
    url: str,
    name: str | None,
    track: str | None,
    status_callback: str | None,
    status_callback_method: str | None,
    schemes: tuple[str, ...] = ("wss",),
) -> dict[str, object | None]:
    return {
        "url": check_url(url, "stream url", schemes),
        "name": None if name is None else check_text(name, "stream name"),
        "track": check_choice(track, "track", _TRACKS),
        "statusCallback": None
        if status_callback is None
        else check_url(status_callback, "status_callback", ("http", "https")),
        "statusCallbackMethod": check_choice(
            None if status_callback_method is None else status_callback_method.upper(),
            "status_callback_method",
            _METHODS,
        ),
    }


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
    attributes = _common(url, name, track, status_callback, status_callback_method)
    if bidirectional and track not in (None, "inbound_track"):
        raise ConfigurationError("a bidirectional <Connect><Stream> only streams inbound_track")
    return _stream_document(bidirectional, attributes, check_parameters(parameters, "parameter"))


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

    attributes = _common(url, name, track, status_callback, status_callback_method)
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
    return _stream_document(bidirectional, attributes, check_parameters(parameters, "parameter"))


_TELNYX_CODECS: Final = ("PCMU", "PCMA", "G722", "OPUS", "AMR-WB", "L16")
_TELNYX_RATES: Final = (8000, 16000, 22050, 24000, 48000)


def telnyx_stream(
    url: str,
    *,
    bidirectional: bool = True,
    bidirectional_codec: str | None = "PCMU",
    bidirectional_sampling_rate: int | None = None,
    codec: str | None = None,
    parameters: Mapping[str, object] | None = None,
    name: str | None = None,
    track: str | None = None,
    status_callback: str | None = None,
    status_callback_method: str | None = None,
) -> str:
    """Telnyx TeXML answering with a stream to ``url`` (``ws://`` or ``wss://``).

    A bidirectional stream is asked for in ``rtp`` mode (raw codec frames, which is what
    :class:`~trio_plivo.protocol.telnyx.TelnyxCodec` plays), with ``bidirectional_codec``
    (PCMU, PCMA, L16 ...) at ``bidirectional_sampling_rate``; ``codec`` is the inbound
    streamed codec. The call layer plays PCMU, PCMA and L16 only.
    """
    attributes = _common(url, name, track, status_callback, status_callback_method, ("ws", "wss"))
    attributes["codec"] = check_choice(codec, "codec", _TELNYX_CODECS)
    if bidirectional:
        attributes["bidirectionalMode"] = "rtp"
        attributes["bidirectionalCodec"] = check_choice(
            bidirectional_codec, "bidirectional_codec", _TELNYX_CODECS
        )
        if bidirectional_sampling_rate is not None:
            if bidirectional_sampling_rate not in _TELNYX_RATES:
                raise ConfigurationError(
                    f"bidirectional_sampling_rate must be one of {_TELNYX_RATES}, "
                    f"got {bidirectional_sampling_rate!r}"
                )
            attributes["bidirectionalSamplingRate"] = bidirectional_sampling_rate
    elif bidirectional_sampling_rate is not None:
        raise ConfigurationError("bidirectional_sampling_rate needs bidirectional=True")
    return _stream_document(bidirectional, attributes, check_parameters(parameters, "parameter"))
