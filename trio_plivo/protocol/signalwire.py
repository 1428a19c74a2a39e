"""SignalWire media streams (cXML ``<Stream>``), sans-IO (``../shared/protocols.md`` §3).

SignalWire speaks Twilio's message set and shapes exactly (``streamSid`` everywhere); the one
difference that reaches the wire is the codec: ``codec="L16@16000h"`` (or 24 kHz) on the
``<Stream>`` gives linear PCM instead of µ-law. The stream's format is taken from
``start.mediaFormat`` as announced; how SignalWire announces L16 is UNCONFIRMED, so the
encoding may be any spelling :func:`~trio_plivo._format.parse_encoding` knows, with the rate
in ``sampleRate`` or in the encoding string (``audio/l16;rate=16000``). When ``start`` carries
no ``mediaFormat`` the codec you configured in the answer document is assumed.
"""

from __future__ import annotations

from .._exceptions import ConfigurationError
from .._format import AudioFormat, Encoding
from .twilio import TwilioShapedCodec

__all__ = ["SignalWireCodec", "parse_signalwire_codec"]


def parse_signalwire_codec(text: str) -> AudioFormat:
    """``PCMU@8000h`` / ``L16@16000h`` (the ``<Stream codec=...>`` spelling) -> AudioFormat.

    Raises :class:`~trio_plivo.ConfigurationError` for anything else.
    """
    name, at, rate_text = text.strip().partition("@")
    rate_text = rate_text.strip().lower().removesuffix("h")
    encodings = {"pcmu": Encoding.MULAW, "pcma": Encoding.ALAW, "l16": Encoding.L16}
    encoding = encodings.get(name.strip().lower())
    if encoding is None or (at and not rate_text.isdigit()):
        raise ConfigurationError(
            f"SignalWire codec must look like 'PCMU@8000h' or 'L16@16000h', got {text!r}"
        )
    rate = int(rate_text) if at else 8000
    if rate <= 0 or (encoding is not Encoding.L16 and rate != 8000):
        raise ConfigurationError(f"SignalWire codec {text!r}: G.711 is 8000 Hz only")
    return AudioFormat(encoding=encoding, sample_rate=rate)


class SignalWireCodec(TwilioShapedCodec):
    """One SignalWire stream: Twilio's protocol, µ-law 8 kHz or L16 16/24 kHz as announced.

    ``codec`` is the ``<Stream codec=...>`` you answered with (``"L16@16000h"``) or an
    :class:`AudioFormat`; it is only used when ``start`` announces no ``mediaFormat``.
    """

    provider = "signalwire"

    def __init__(self, *, codec: str | AudioFormat | None = None) -> None:
        super().__init__()
        if isinstance(codec, str):
            codec = parse_signalwire_codec(codec)
        if codec is not None:
            self._default_format = codec
