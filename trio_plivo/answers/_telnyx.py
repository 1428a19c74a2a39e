"""Telnyx TeXML: TwiML's ``<Stream>`` with Telnyx's codecs and ``bidirectionalMode="rtp"``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._exceptions import ConfigurationError
from ._common import check_choice, check_parameters, stream_attributes, stream_document

__all__ = ["telnyx_stream"]

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
    attributes = stream_attributes(
        url, name, track, status_callback, status_callback_method, ("ws", "wss")
    )
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
    return stream_document(bidirectional, attributes, check_parameters(parameters, "parameter"))
